"""What a benchmark / compare report shows: figure specs (drawn by the report adapter) and
tables, built from one or more BenchmarkReports (several = overlaid per model)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ghtrader.application.ports.models import CLASS_NAMES
from ghtrader.application.ports.reports import (
    FigureSpec,
    LineFigure,
    MatrixFigure,
    MatrixPanel,
    PlotSeries,
    ReportTable,
)
from ghtrader.application.research.benchmark_report import BenchmarkReport

__all__ = ["SUMMARY_METRICS", "benchmark_figures", "benchmark_tables", "ceiling_table", "format_mean_std"]

#: Metrics of the summary table, in order, with how to print them.
SUMMARY_METRICS: tuple[tuple[str, str], ...] = (
    ("info_captured", ".3f"),
    ("log_loss", ".4f"),
    ("bayes_log_loss", ".4f"),
    ("ece", ".4f"),
    ("ece_uncalibrated", ".4f"),
    ("policy_net_pnl", ",.0f"),
    ("policy_n_trades", ",.0f"),
    ("accuracy", ".4f"),
    ("macro_f1", ".4f"),
    ("brier", ".4f"),
    ("mce", ".4f"),
    ("model_log_loss_bayes_rows", ".4f"),
    ("prior_log_loss", ".4f"),
    ("model_macro_f1_bayes_rows", ".4f"),
    ("bayes_macro_f1", ".4f"),
    ("bayes_rows", ",.0f"),
    ("bayes_se_max", ".4f"),
    ("policy_turnover", ".4f"),
    ("policy_net_pnl_per_trade", ",.1f"),
    ("policy_n_trades_bayes_rows", ",.0f"),
    ("bayes_policy_net_pnl_per_trade", ",.1f"),
    ("bayes_policy_n_trades", ",.0f"),
    ("bayes_policy_net_pnl", ",.0f"),
    ("policy_net_pnl_bayes_rows", ",.0f"),
    ("expected_move_rule_macro_f1", ".4f"),
    ("model_expected_move_rule_f1_ratio", ".3f"),
    ("expected_move_rule_accuracy", ".4f"),
    ("gross_pnl", ",.0f"),
    ("net_pnl", ",.0f"),
    ("net_sharpe", ".2f"),
    ("net_max_drawdown", ",.0f"),
    ("net_win_rate", ".3f"),
    ("net_profit_factor", ".3f"),
    ("hit_rate", ".3f"),
    ("break_even_accuracy", ".3f"),
    ("n_trades", ",.0f"),
    ("expected_move_rule_net_pnl", ",.0f"),
    ("half_life", ".1f"),
    ("latency_p50_ms", ".3f"),
    ("latency_p95_ms", ".3f"),
    ("latency_p99_ms", ".3f"),
    ("throughput_per_s", ",.0f"),
    ("fit_seconds", ".2f"),
)


def _fmt(value: Any, spec: str) -> str:
    if value is None:
        return "-"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return format(v, spec)


def format_mean_std(mean: float, std: float, spec: str) -> str:
    """``"0.4123 ± 0.0101"`` (just the mean when the spread is unknown)."""
    if not math.isfinite(mean):
        return "-"
    if not math.isfinite(std):
        return _fmt(mean, spec)
    return f"{_fmt(mean, spec)} ± {_fmt(std, spec)}"


def _metric_keys(reports: Sequence[BenchmarkReport]) -> list[tuple[str, str]]:
    present = set().union(*(r.summary.keys() for r in reports))
    keys = [(k, f) for k, f in SUMMARY_METRICS if k in present]
    ics = sorted({k for k in present if k.startswith("ic_h")}, key=lambda k: int(k[4:]))
    head = [k for k in keys if k[0] in _HEAD]
    rest = [k for k in keys if k[0] not in _HEAD]
    return head + [(k, ".4f") for k in ics] + rest


#: Rows of the summary table shown before the alpha-decay ICs.
_HEAD = frozenset(k for k, _ in SUMMARY_METRICS[:11])


def benchmark_tables(reports: Sequence[BenchmarkReport]) -> list[ReportTable]:
    """Summary (metric x model, mean ± std over folds), per-fold, regime / session, oracle and
    latency tables."""
    keys = _metric_keys(reports)
    summary_rows = tuple(
        (k, *(format_mean_std(r.summary[k].mean, r.summary[k].std, f) if k in r.summary else "-" for r in reports))
        for k, f in keys
    )
    n = reports[0].n_splits
    tables = [
        ReportTable(
            title="Summary over folds (mean ± std)",
            columns=("metric", *(r.family for r in reports)),
            rows=summary_rows,
            caption=(
                f"{n} walk-forward folds (asked {reports[0].n_splits_requested}), purge {reports[0].purge} ticks, "
                f"horizon {reports[0].horizon} ticks; PnL in currency per lot, Sharpe annualised. "
                "info_captured = (LL_prior - LL_model) / (LL_prior - LL_bayes) on the test ticks with Bayes "
                "probabilities (1: all the generator knows; 0: base rates). policy_* = cost-aware expected-move "
                "policy. The expected-move rule thresholds the generator's expected move: a reference, no ceiling."
            ),
        )
    ]
    fold_cols = (
        ("accuracy", ".4f"),
        ("macro_f1", ".4f"),
        ("log_loss", ".4f"),
        ("ece", ".4f"),
        ("net_pnl", ",.0f"),
        ("net_sharpe", ".2f"),
        ("info_captured", ".3f"),
        ("bayes_log_loss", ".4f"),
        ("policy_net_pnl", ",.0f"),
        ("expected_move_rule_macro_f1", ".4f"),
    )
    fold_rows: list[tuple[str, ...]] = []
    for r in reports:
        for f in r.folds:
            fold_rows.append(
                (
                    r.family,
                    str(f.fold + 1),
                    f"{f.test_days[0]}..{f.test_days[1]}",
                    _fmt(f.test_rows[2], ",.0f"),
                    *(_fmt(f.metrics.get(c), spec) for c, spec in fold_cols),
                )
            )
    tables.append(
        ReportTable("Folds", ("model", "fold", "test days", "test rows", *(c for c, _ in fold_cols)), tuple(fold_rows))
    )

    group_rows: list[tuple[str, ...]] = []
    for r in reports:
        for kind in ("by_regime", "by_session", "by_hmm_regime"):
            for name, g in r.pooled.get(kind, {}).items():
                group_rows.append(
                    (
                        r.family,
                        name,
                        _fmt(g["rows"], ",.0f"),
                        _fmt(g["accuracy"], ".4f"),
                        _fmt(g["macro_f1"], ".4f"),
                        _fmt(g["log_loss"], ".4f"),
                        _fmt(g["n_trades"], ",.0f"),
                        _fmt(g["net_pnl"], ",.0f"),
                        _fmt(g["net_sharpe"], ".2f"),
                    )
                )
    tables.append(
        ReportTable(
            "By volatility regime and session (pooled test rows)",
            ("model", "group", "rows", "accuracy", "macro_f1", "log_loss", "trades", "net_pnl", "net_sharpe"),
            tuple(group_rows),
            caption="Volatility terciles and HMM regimes (hmm_0 = calmest) are fitted on each fold's training rows.",
        )
    )

    pooled_rows: list[tuple[str, ...]] = []
    for r in reports:
        m = r.pooled["metrics"]
        t = r.pooled["trading"]
        o = r.pooled.get("expected_move_rule") or {}
        pooled_rows.append(
            (
                r.family,
                _fmt(m.get("macro_f1"), ".4f"),
                _fmt(o.get("macro_f1"), ".4f"),
                _fmt(o.get("model_f1_ratio"), ".3f"),
                _fmt(t["gross"]["total"], ",.0f"),
                _fmt(t["net"]["total"], ",.0f"),
                _fmt(t["break_even_accuracy"], ".3f"),
                _fmt(t["hit_rate"], ".3f"),
                "yes" if t["profitable_gross_not_net"] else "no",
            )
        )
    tables.append(
        ReportTable(
            "Pooled test rows: model, expected-move rule and costs",
            (
                "model",
                "macro_f1",
                "expected-move rule macro_f1",
                "ratio",
                "gross pnl",
                "net pnl",
                "break-even acc",
                "hit rate",
                "profitable before costs only",
            ),
            tuple(pooled_rows),
        )
    )
    ceiling = ceiling_table(reports)
    if ceiling is not None:
        tables.insert(1, ceiling)
    notes = [(r.family, r.note or "") for r in reports if r.note]
    if notes:
        tables.append(ReportTable("Notes", ("model", "note"), tuple(notes)))
    return tables


#: Columns of the ceiling table: (header, pooled metric key, format).
_CEILING_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Bayes ticks", "bayes_rows", ",.0f"),
    ("log-loss", "model_log_loss_bayes_rows", ".4f"),
    ("Bayes log-loss", "bayes_log_loss", ".4f"),
    ("prior log-loss", "prior_log_loss", ".4f"),
    ("info captured", "info_captured", ".3f"),
    ("macro-F1", "model_macro_f1_bayes_rows", ".4f"),
    ("Bayes rule macro-F1", "bayes_macro_f1", ".4f"),
    ("policy net/trade", "policy_net_pnl_per_trade", ",.1f"),
    ("policy trades", "policy_n_trades_bayes_rows", ",.0f"),
    ("Bayes policy net/trade", "bayes_policy_net_pnl_per_trade", ",.1f"),
    ("Bayes policy trades", "bayes_policy_n_trades", ",.0f"),
    ("ECE", "ece", ".4f"),
    ("ECE uncalibrated", "ece_uncalibrated", ".4f"),
)


def _has_ceiling(reports: Sequence[BenchmarkReport]) -> bool:
    return any("bayes_log_loss" in r.pooled["metrics"] for r in reports)


def ceiling_table(reports: Sequence[BenchmarkReport]) -> ReportTable | None:
    """Each model against the Bayes oracle on the pooled test ticks that carry its
    probabilities (None when no report has them)."""
    if not _has_ceiling(reports):
        return None
    rows = tuple(
        (r.family, *(_fmt(r.pooled["metrics"].get(key), spec) for _, key, spec in _CEILING_COLUMNS)) for r in reports
    )
    se = max((r.pooled["metrics"].get("bayes_se_max", math.nan) for r in reports), default=math.nan)
    return ReportTable(
        "Ceiling: each model against the Bayes oracle (pooled test ticks with true probabilities)",
        ("model", *(h for h, _, _ in _CEILING_COLUMNS)),
        rows,
        caption=(
            "info captured = (LL_prior - LL_model) / (LL_prior - LL_Bayes): 1 = all the generator knows, "
            "0 = base rates. Bayes rule = class weights on argmax(w p) fitted on training ticks. Policy: one lot "
            "where the expected move beats a threshold (from the round-trip cost up) chosen on validation ticks "
            "(model) or sampled training ticks (oracle); net PnL per trade in currency per lot, each sampled tick "
            f"an independent trade. Largest Monte Carlo standard error of a Bayes probability: {_fmt(se, '.4f')}."
        ),
    )


def _ceiling_figures(reports: Sequence[BenchmarkReport]) -> list[FigureSpec]:
    if not _has_ceiling(reports):
        return []

    def per_fold(r: BenchmarkReport, key: str) -> list[float]:
        return [f.metrics.get(key, math.nan) for f in r.folds]

    folds = [f.fold + 1 for f in reports[0].folds]
    info = tuple(
        PlotSeries(r.family, [f.fold + 1 for f in r.folds], per_fold(r, "info_captured"), "bars") for r in reports
    )
    loss = [
        PlotSeries(r.family, [f.fold + 1 for f in r.folds], per_fold(r, "model_log_loss_bayes_rows"), "bars")
        for r in reports
    ]
    loss.append(PlotSeries("Bayes oracle", folds, per_fold(reports[0], "bayes_log_loss"), "points", color="black"))
    loss.append(PlotSeries("prior", folds, per_fold(reports[0], "prior_log_loss"), "points", color="0.6", dashed=True))
    pnl = [
        PlotSeries(r.family, [f.fold + 1 for f in r.folds], per_fold(r, "policy_net_pnl_per_trade"), "bars")
        for r in reports
    ]
    pnl.append(
        PlotSeries(
            "Bayes oracle", folds, per_fold(reports[0], "bayes_policy_net_pnl_per_trade"), "points", color="black"
        )
    )
    f1 = [
        PlotSeries(r.family, [f.fold + 1 for f in r.folds], per_fold(r, "model_macro_f1_bayes_rows"), "bars")
        for r in reports
    ]
    f1.append(PlotSeries("Bayes decision rule", folds, per_fold(reports[0], "bayes_macro_f1"), "points", color="black"))
    return [
        LineFigure(
            name="ceiling_info_captured",
            title="Ceiling: information captured per fold (1 = the Bayes oracle)",
            xlabel="fold",
            ylabel="(LL_prior - LL_model) / (LL_prior - LL_Bayes)",
            series=info,
            hline=1.0,
            caption="0 = no more than the training class frequencies; 1 = what the generator knows.",
        ),
        LineFigure(
            name="ceiling_log_loss",
            title="Ceiling: log-loss beside the Bayes oracle's (test ticks with true probabilities)",
            xlabel="fold",
            ylabel="log-loss",
            series=tuple(loss),
        ),
        LineFigure(
            name="ceiling_macro_f1",
            title="Ceiling: macro-F1 beside the Bayes decision rule's",
            xlabel="fold",
            ylabel="macro-F1",
            series=tuple(f1),
        ),
        LineFigure(
            name="ceiling_policy_pnl",
            title="Ceiling: cost-aware policy, net PnL per trade (model vs Bayes oracle)",
            xlabel="fold",
            ylabel="net PnL per trade (currency per lot)",
            series=tuple(pnl),
            hline=0.0,
            caption="Sampled test ticks, each trade one lot held for the horizon, after commission and spread.",
        ),
    ]


def benchmark_figures(reports: Sequence[BenchmarkReport]) -> list[FigureSpec]:
    """Reliability diagram, alpha decay, equity curve, confusion matrices, per-fold macro-F1
    and, when the frame carries the Bayes oracle, the ceiling panel (information captured,
    log-loss, macro-F1 and policy PnL against the oracle); one curve per report (overlaid)."""
    reliability = []
    shares = []
    decay = []
    equity = []
    for r in reports:
        rel = r.curves["reliability"]
        conf = np.asarray(rel["mean_confidence"], dtype=np.float64)
        acc = np.asarray(rel["accuracy"], dtype=np.float64)
        ok = np.isfinite(conf) & np.isfinite(acc)
        ece = r.pooled["metrics"].get("ece", math.nan)
        reliability.append(
            PlotSeries(
                f"{r.family} (ECE {_fmt(ece, '.3f')})", conf[ok].tolist(), acc[ok].tolist(), "points", group=r.family
            )
        )
        count = np.asarray(rel["count"], dtype=np.float64)
        if count.sum() > 0:
            centers = (np.arange(count.shape[0]) + 0.5) / count.shape[0]
            shares.append(
                PlotSeries(
                    f"{r.family}: share of rows",
                    centers.tolist(),
                    (count / count.sum()).tolist(),
                    "bars",
                    group=r.family,
                )
            )
        d = r.curves["decay"]
        hl = d.get("half_life")
        decay.append(PlotSeries(f"{r.family} (half-life {_fmt(hl, '.0f')} ticks)", d["horizons"], d["ic"], "points"))
        eq = r.curves["equity"]
        equity.append(PlotSeries(f"{r.family} net", eq["elapsed_days"], eq["cum_net"], group=r.family))
        equity.append(
            PlotSeries(
                f"{r.family} gross (before costs)", eq["elapsed_days"], eq["cum_gross"], group=r.family, dashed=True
            )
        )
    figures: list[FigureSpec] = [
        LineFigure(
            name="reliability",
            title="Reliability diagram (top-class confidence, pooled test rows)",
            xlabel="mean predicted confidence",
            ylabel="observed accuracy",
            series=(*reliability, *shares),
            diagonal=True,
            caption="Points below the diagonal are over-confident; bars: share of test rows per confidence bin.",
        ),
        LineFigure(
            name="alpha_decay",
            title="Alpha decay: IC of p(UP) - p(DOWN) with the realized move",
            xlabel="horizon (ticks)",
            ylabel="Spearman IC",
            series=tuple(decay),
            hline=0.0,
            log_x=True,
        ),
        LineFigure(
            name="equity",
            title=f"Cumulative PnL per lot, horizon {reports[0].horizon} (pooled test days)",
            xlabel="days since the first test tick",
            ylabel="PnL (currency per lot)",
            series=tuple(equity),
            hline=0.0,
            caption="Net = after commission, slippage and spread.",
        ),
        MatrixFigure(
            name="confusion",
            title="Confusion matrix (share of each true class)",
            xlabel="predicted",
            ylabel="true",
            panels=tuple(_confusion_panel(r.family, r.curves["confusion"]) for r in reports),
        ),
    ]
    fold_series = [
        PlotSeries(
            r.family, [f.fold + 1 for f in r.folds], [f.metrics.get("macro_f1", math.nan) for f in r.folds], "bars"
        )
        for r in reports
    ]
    for key, name in (("bayes_macro_f1", "Bayes decision rule"), ("expected_move_rule_macro_f1", "expected-move rule")):
        if reports[0].folds and key in reports[0].folds[0].metrics:
            fold_series.append(
                PlotSeries(
                    name,
                    [f.fold + 1 for f in reports[0].folds],
                    [f.metrics.get(key, math.nan) for f in reports[0].folds],
                    "points",
                )
            )
    figures.append(
        LineFigure(
            name="folds_macro_f1",
            title="Macro-F1 per walk-forward fold",
            xlabel="fold",
            ylabel="macro-F1",
            series=tuple(fold_series),
        )
    )
    return figures + _ceiling_figures(reports)


def _confusion_panel(label: str, counts: Sequence[Sequence[float]]) -> MatrixPanel:
    c = np.asarray(counts, dtype=np.float64)
    totals = c.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(totals > 0, c / totals, np.nan)
    return MatrixPanel(label, share.tolist(), CLASS_NAMES, CLASS_NAMES)
