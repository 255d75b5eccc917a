"""What a backtest report shows: equity, drawdown and fills on the price (figure specs drawn by
the report adapter) and the result tables."""

from __future__ import annotations

import numpy as np

from ghtrader.application.ports.reports import FigureSpec, LineFigure, PlotSeries, ReportTable
from ghtrader.application.research.backtest_report import BacktestReport
from ghtrader.application.research.benchmark_figures import _fmt
from ghtrader.domain.microsim.codes import BUY, SELL

__all__ = ["MAX_POINTS", "backtest_figures", "backtest_tables"]

MAX_POINTS = 4000  # curves are thinned to about this many points (the PNGs cannot show more)

_ROWS = (
    ("pnl_gross", ",.0f"),
    ("fees", ",.0f"),
    ("pnl_net", ",.0f"),
    ("fills", ",.0f"),
    ("fills_aggressive", ",.0f"),
    ("fills_passive_queue", ",.0f"),
    ("fills_passive_cross", ",.0f"),
    ("turnover_lots", ",.0f"),
    ("turnover_value", ",.0f"),
    ("round_trips", ",.0f"),
    ("win_rate", ".3f"),
    ("sharpe", ".2f"),
    ("max_drawdown", ",.0f"),
    ("days", ",.0f"),
)


def _thin(n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, MAX_POINTS)).astype(np.int64)) if n else np.zeros(0, np.int64)


def _hours(ns: np.ndarray, t0: int) -> list[float]:
    return ((np.asarray(ns, dtype=np.int64) - t0) / 3.6e12).tolist()


def backtest_figures(report: BacktestReport) -> list[FigureSpec]:
    """Equity (gross and net), drawdown of the net equity, and the mid with the fills on it."""
    result = report.result
    if result is None or result.equity.size == 0:
        return []
    eq = result.equity
    t0 = int(eq["datetime_ns"][0])
    k = _thin(eq.size)
    x = _hours(eq["datetime_ns"][k], t0)
    net = eq["pnl_net"]
    dd = net - np.maximum.accumulate(np.maximum(net, 0.0))
    xlabel = "hours since the first snapshot"
    figs: list[FigureSpec] = [
        LineFigure(
            name="equity",
            title=f"Equity of {report.model_id} v{report.version} ({report.execution}, {report.queue_model})",
            xlabel=xlabel,
            ylabel="PnL (currency)",
            series=(
                PlotSeries("gross", x, eq["pnl_gross"][k].tolist()),
                PlotSeries("net of fees", x, net[k].tolist()),
            ),
            hline=0.0,
        ),
        LineFigure(
            name="drawdown",
            title="Drawdown of the net equity",
            xlabel=xlabel,
            ylabel="drawdown (currency)",
            series=(PlotSeries("drawdown", x, dd[k].tolist(), style="step"),),
        ),
    ]
    fills = result.fills
    series = [PlotSeries("mid", x, eq["mid"][k].tolist(), color="gray")]
    for side, label, color in ((BUY, "buy fills", "green"), (SELL, "sell fills", "red")):
        f = fills[fills["side"] == side]
        f = f[_thin(f.size)]
        series.append(
            PlotSeries(label, _hours(f["datetime_ns"], t0), f["price"].tolist(), style="markers", color=color)
        )
    figs.append(
        LineFigure(
            name="fills_on_price",
            title="Fills on the price",
            xlabel=xlabel,
            ylabel="price",
            series=tuple(series),
            caption=f"{fills.size:,} fills; at most {MAX_POINTS:,} points per curve are drawn",
        )
    )
    return figs


def backtest_tables(report: BacktestReport) -> list[ReportTable]:
    """The summary, and the results by session and by volatility regime."""
    tables = [
        ReportTable(
            title="Cost-adjusted results",
            columns=("metric", "value"),
            rows=tuple((name, _fmt(report.summary.get(name), spec)) for name, spec in _ROWS),
        )
    ]
    groupings = [("By session", report.by_session), ("By volatility regime", report.by_regime)]
    if report.by_hmm_regime is not None:
        groupings.append(("By HMM regime (fitted on the policy-fit days, decoded causally)", report.by_hmm_regime))
    for title, groups in groupings:
        cols = ("group", "snapshots", "pnl_gross", "fees", "pnl_net", "fills")
        rows = tuple((name, *(_fmt(stats.get(c), ",.0f") for c in cols[1:])) for name, stats in groups.items())
        tables.append(ReportTable(title=title, columns=cols, rows=rows))
    p = report.policy
    tables.append(
        ReportTable(
            title=f"Policy fitted on {', '.join(str(d) for d in report.fit_days)}",
            columns=("threshold", "mean_cost", "fit_net_pnl", "fit_trades", "fit_rows"),
            rows=(
                (
                    _fmt(p.get("threshold"), ".4g"),
                    _fmt(p.get("mean_cost"), ".4g"),
                    _fmt(p.get("fit_net_pnl"), ",.0f"),
                    _fmt(p.get("fit_trades"), ",.0f"),
                    _fmt(p.get("fit_rows"), ",.0f"),
                ),
            ),
        )
    )
    cf = report.counterfactual
    if cf:
        a, b = str(cf["A"]), str(cf["B"])
        tables.append(
            ReportTable(
                title=f"Counterfactual replay: the same targets executed {a} (A) vs {b} (B)",
                columns=("metric", f"A {a}", f"B {b}", "B - A"),
                rows=tuple(
                    (k, _fmt(v["A"], ",.4g"), _fmt(v["B"], ",.4g"), _fmt(v["B-A"], ",.4g"))
                    for k, v in cf["table"].items()
                ),
            )
        )
    return tables
