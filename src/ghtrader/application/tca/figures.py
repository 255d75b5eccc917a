"""What a TCA report shows: cost components per order (stacked bars) and cumulated over the
run's orders, plus the per-order table (figure specs drawn by the report writer)."""

from __future__ import annotations

import numpy as np

from ghtrader.application.ports.reports import FigureSpec, LineFigure, PlotSeries, ReportTable
from ghtrader.application.tca.report import TcaReport

__all__ = ["tca_figures", "tca_tables"]

_COLORS = {"spread": "tab:blue", "impact": "tab:red", "timing": "tab:orange", "opportunity": "tab:purple"}
MAX_BARS = 400  # more orders than this: the per-order figure shows the first ones


def _component(report: TcaReport, name: str) -> np.ndarray:
    return np.array([getattr(x, f"{name}_cost") for x in report.labels], dtype=np.float64)


def tca_figures(report: TcaReport) -> list[FigureSpec]:
    """Stacked per-order components and their cumulative sums (currency)."""
    n = len(report.labels)
    shown = min(n, MAX_BARS)
    x = np.arange(1, n + 1, dtype=np.float64)
    total = np.array([x.shortfall for x in report.labels], dtype=np.float64)
    bars = tuple(
        PlotSeries(c, x[:shown].tolist(), _component(report, c)[:shown].tolist(), style="bars", color=_COLORS[c])
        for c in _COLORS
    )
    per_order = LineFigure(
        name="cost_components_per_order", title="Implementation shortfall per order, by component",
        xlabel="order", ylabel="cost (CNY)",
        series=(*bars, PlotSeries("shortfall", x[:shown].tolist(), total[:shown].tolist(), style="markers",
                                  color="black")),
        hline=0.0, stacked=True,
        caption=f"{n:,} orders" + (f"; the first {shown:,} shown" if shown < n else "")
        + "; bars stack the components (negative ones below 0), dots are their sum",
    )  # fmt: skip
    curves = tuple(
        PlotSeries(c, x.tolist(), np.cumsum(_component(report, c)).tolist(), color=_COLORS[c]) for c in _COLORS
    )
    cumulative = LineFigure(
        name="cost_components_cumulative", title="Cumulative implementation shortfall, by component",
        xlabel="order", ylabel="cumulative cost (CNY)",
        series=(*curves, PlotSeries("shortfall", x.tolist(), np.cumsum(total).tolist(), color="black", dashed=True)),
        hline=0.0,
    )  # fmt: skip
    return [per_order, cumulative]


def _f(v: float, fmt: str = ",.2f") -> str:
    return "" if v != v else format(v, fmt)


def tca_tables(report: TcaReport) -> list[ReportTable]:
    """Totals, the impact model and the per-order attribution."""
    t = report.totals
    totals = ReportTable(
        "Attribution (CNY)",
        ("spread", "impact", "timing", "opportunity", "shortfall", "fees", "total cost", "slippage ticks/lot"),
        ((_f(t["spread"]), _f(t["impact"]), _f(t["timing"]), _f(t["opportunity"]), _f(t["shortfall"]),
          _f(t["fees"]), _f(t["total_cost"]), _f(t["slippage_ticks_per_lot"], ".3f")),),
        caption="spread + impact + timing + opportunity = implementation shortfall; fees are beside it",
    )  # fmt: skip
    m = report.impact
    impact = ReportTable(
        "Impact model",
        ("kind", "eta (ticks/lot)", "fills", "r2", "source"),
        ((str(m["kind"]), _f(float(m["eta"]), ".4f"), str(m["n_obs"]), _f(float(m["r2"]), ".3f"),
          report.impact_source),),
    )  # fmt: skip
    rows = tuple(
        (x.order_id, "buy" if x.side > 0 else "sell", f"{x.filled_qty:g}/{x.order_qty:g}", _f(x.arrival_price),
         _f(x.execution_price), _f(x.slippage_ticks, ".2f"), _f(x.spread_cost), _f(x.impact_cost), _f(x.timing_cost),
         _f(x.opportunity_cost), _f(x.shortfall), _f(x.fees))
        for x in report.labels[:MAX_BARS]
    )  # fmt: skip
    per_order = ReportTable(
        "Per order",
        ("order", "side", "filled", "arrival", "exec VWAP", "slip ticks", "spread", "impact", "timing", "opportunity",
         "shortfall", "fees"),
        rows,
    )  # fmt: skip
    return [totals, impact, per_order]
