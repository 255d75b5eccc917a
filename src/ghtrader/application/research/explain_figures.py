"""Figures and tables of an explain report: global importance, the tick's waterfall,
permutation importance, error by group, (windowed models) importance by lag and (transformer
families) attention maps: the tick's window per layer as heat maps and the read-out query's
mean attention by lag."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ghtrader.application.ports.reports import (
    BarFigure,
    FigureSpec,
    LineFigure,
    MatrixFigure,
    MatrixPanel,
    PlotSeries,
    ReportTable,
)
from ghtrader.application.research.explain_report import ExplainReport

__all__ = ["explain_figures", "explain_tables"]


def _importance(report: ExplainReport, top_k: int) -> BarFigure | None:
    rows = report.global_importance[:top_k]
    if not rows:
        return None
    method = next((m for m in report.methods if m != "permutation"), "")
    return BarFigure(
        name="global_importance",
        title=f"Global importance ({method}): mean |attribution|, top {len(rows)}",
        xlabel=f"mean |attribution| ({report.output_space}, averaged over classes)",
        labels=tuple(r["feature"] for r in rows),
        values=tuple(r["mean_abs"] for r in rows),
        caption=f"{report.attributed_rows} rows of {report.start_day}..{report.end_day}",
    )


def _utc(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _waterfall(report: ExplainReport, top_k: int) -> BarFigure | None:
    tick: dict[str, Any] = report.tick
    contributions: dict[str, float] = tick.get("contributions", {})
    if not contributions:
        return None
    names = list(contributions)[:top_k]
    rest = sum(v for k, v in contributions.items() if k not in names)
    labels, values, starts = [], [], []
    level = float(tick["base"])
    for name in names:
        labels.append(f"{name} = {tick['features'].get(name, float('nan')):.4g}")
        values.append(contributions[name])
        starts.append(level)
        level += contributions[name]
    if len(contributions) > len(names):
        labels.append(f"{len(contributions) - len(names)} other features")
        values.append(rest)
        starts.append(level)
        level += rest
    return BarFigure(
        name="tick_waterfall",
        title=f"Why {tick['explained_class']} at {_utc(tick['datetime_ns'])} (label {tick.get('label')})",
        xlabel=f"{tick['output_space']} of {tick['explained_class']}: base {tick['base']:.3f} -> {tick['output']:.3f}",
        labels=tuple(labels),
        values=tuple(values),
        starts=tuple(starts),
        signed=True,
        vline=float(tick["base"]),
        caption="bars start where the previous one ended; red raises the class's output, blue lowers it",
    )


def _permutation(report: ExplainReport, top_k: int) -> BarFigure | None:
    rows = report.permutation[:top_k]
    if not rows:
        return None
    return BarFigure(
        name="permutation_importance",
        title=f"Permutation importance (ONNX graph), top {len(rows)}",
        xlabel=f"log-loss rise when shuffled (base {report.permutation_base_log_loss:.4f})",
        labels=tuple(r["feature"] for r in rows),
        values=tuple(r["delta_log_loss"] for r in rows),
        errors=tuple(r["std"] for r in rows),
        signed=True,
        vline=0.0,
    )


def _errors(report: ExplainReport) -> BarFigure | None:
    labels, values = [], []
    for kind, groups in report.error_analysis.items():
        for name, stats in groups.items():
            if stats.get("n", 0) > 0:
                labels.append(f"{kind}: {name} (n={int(stats['n'])})")
                values.append(stats["error_rate"])
    if not labels:
        return None
    return BarFigure(
        name="error_by_group",
        title="Error rate by regime, session, segment and symbol",
        xlabel="error rate (1 - accuracy) of the calibrated predictions",
        labels=tuple(labels),
        values=tuple(values),
    )


def _lags(report: ExplainReport) -> LineFigure | None:
    if not report.lag_profile:
        return None
    x = list(range(len(report.lag_profile)))
    return LineFigure(
        name="importance_by_lag",
        title="Temporal attribution: mean |attribution| by lag",
        xlabel="lag (ticks before the predicted tick)",
        ylabel="mean |attribution| (summed over features)",
        series=(PlotSeries("integrated gradients", x, report.lag_profile),),
    )


def _attention_maps(report: ExplainReport, kind: str) -> MatrixFigure | None:
    entries = [e for e in report.attention if e["kind"] == kind]
    if not entries:
        return None
    temporal = kind == "temporal"
    when = _utc(report.tick["datetime_ns"]) if "datetime_ns" in report.tick else "the chosen tick"
    notes = sorted({e["note"] for e in entries if e["note"]})
    return MatrixFigure(
        name=f"attention_{kind}",
        title=f"{'Temporal' if temporal else 'Feature-wise'} attention, mean over heads",
        xlabel="key (attended to)",
        ylabel="query",
        panels=tuple(MatrixPanel(e["name"], e["tick_map"], tuple(e["labels"]), tuple(e["labels"])) for e in entries),
        annotate=len(entries[0]["labels"]) <= 12,
        value_format=".2f",
        caption="; ".join([f"the window of the tick at {when}; rows sum to 1", *notes]),
    )


def _attention_by_lag(report: ExplainReport) -> LineFigure | None:
    series = []
    for e in report.attention:
        if e["kind"] != "temporal":
            continue
        steps, weights = e["step_of"], e["summary"]["by_key"]
        pairs = sorted((s, w) for s, w in zip(steps, weights, strict=True) if s >= 0)
        series.append(PlotSeries(e["name"], [s for s, _ in pairs], [w for _, w in pairs]))
    if not series:
        return None
    query = next(e["summary"]["query"] for e in report.attention if e["kind"] == "temporal")
    return LineFigure(
        name="attention_by_lag",
        title=f"Attention by lag of the read-out query ({query}), mean over {report.attributed_rows} windows",
        xlabel="lag of the key (ticks before the predicted tick; a patch at its newest tick)",
        ylabel="attention weight",
        series=tuple(series),
    )


def explain_figures(report: ExplainReport, top_k: int = 20) -> list[FigureSpec]:
    """The report's figures (those with data)."""
    found = [
        _importance(report, top_k),
        _waterfall(report, top_k),
        _permutation(report, top_k),
        _errors(report),
        _lags(report),
        _attention_maps(report, "temporal"),
        _attention_maps(report, "feature"),
        _attention_by_lag(report),
    ]
    return [f for f in found if f is not None]


def explain_tables(report: ExplainReport, top_k: int = 20) -> list[ReportTable]:
    """Importance and error tables for the HTML page."""
    tables = []
    if report.global_importance:
        tables.append(
            ReportTable(
                title="Global importance",
                columns=("feature", "mean |attr|", "DOWN", "FLAT", "UP"),
                rows=tuple(
                    (
                        r["feature"],
                        f"{r['mean_abs']:.4g}",
                        *(f"{r['mean_abs_by_class'][c]:.4g}" for c in ("DOWN", "FLAT", "UP")),
                    )
                    for r in report.global_importance[:top_k]
                ),
                caption=f"completeness max |error| {report.completeness_max_abs_error}",
            )
        )
    if report.permutation:
        tables.append(
            ReportTable(
                title="Permutation importance",
                columns=("feature", "log-loss rise", "std"),
                rows=tuple(
                    (r["feature"], f"{r['delta_log_loss']:.4g}", f"{r['std']:.2g}") for r in report.permutation[:top_k]
                ),
            )
        )
    rows = []
    for kind, groups in report.error_analysis.items():
        for name, s in groups.items():
            if s.get("n", 0) > 0:
                rows.append(
                    (
                        kind,
                        name,
                        str(int(s["n"])),
                        f"{s['accuracy']:.3f}",
                        f"{s['macro_f1']:.3f}",
                        f"{s['log_loss']:.4f}",
                    )
                )
    if report.attention:
        tables.append(_attention_table(report))
    if rows:
        tables.append(
            ReportTable(
                title="Error analysis",
                columns=("by", "group", "n", "accuracy", "macro-F1", "log-loss"),
                rows=tuple(rows),
            )
        )
    return tables


def _attention_table(report: ExplainReport) -> ReportTable:
    rows = []
    for e in report.attention:
        s = e["summary"]
        if e["kind"] == "temporal":
            share = ", ".join(
                f"last {k}: {v:.3f} (uniform {s['uniform_share_last_k'][k]:.3f})" for k, v in s["share_last_k"].items()
            )
        else:
            share = ", ".join(f"{name} {v:.3f}" for name, v in list(s["received"].items())[:5])
        rows.append((e["name"], e["kind"], f"{s['entropy']:.3f}", share))
    return ReportTable(
        title="Attention (mean over heads and the attributed windows)",
        columns=(
            "layer",
            "kind",
            "entropy / log(n)",
            "temporal: read-out share on the newest k ticks; features: most attended",
        ),
        rows=tuple(rows),
    )
