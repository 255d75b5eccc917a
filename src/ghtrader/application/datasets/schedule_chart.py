"""The roll schedule as a chart: end-of-day open interest per contract, the main contract of
each day, and the roll days, with a table of the segments and the OI ratio that moved each roll."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from ghtrader.application.ports.reports import (
    FigureSpec,
    LineFigure,
    PlotSeries,
    ReportTable,
)
from ghtrader.domain.schedule import MainSchedule

__all__ = ["schedule_chart"]

_EPOCH = date(1970, 1, 1)


def _x(d: date) -> float:
    return float((d - _EPOCH).days)


def schedule_chart(
    schedule: MainSchedule, eod_oi: Mapping[date, Mapping[str, float]]
) -> tuple[list[FigureSpec], list[ReportTable]]:
    """Figures and tables of ``schedule`` given the end-of-day open interest it was built from
    (``eod_oi[day][contract]``)."""
    days = sorted(eod_oi)
    contracts = sorted({c for d in days for c in eod_oi[d]})
    seen = {c: [d for d in days if c in eod_oi[d]] for c in contracts}
    series = [
        PlotSeries(c, [_x(d) for d in seen[c]], [float(eod_oi[d][c]) for d in seen[c]])
        for c in contracts
        if len(seen[c]) > 1
    ]
    single = [c for c in contracts if len(seen[c]) == 1]  # e.g. a one-day scan of every listed contract
    if single:
        series.append(
            PlotSeries(
                f"{len(single)} contract{'s' if len(single) > 1 else ''} seen on one day",
                [_x(seen[c][0]) for c in single],
                [float(eod_oi[seen[c][0]][c]) for c in single],
                style="markers",
                group="single",
                color="0.6",
            )
        )
    # The main of day d was chosen from d's previous close; its OI on d shows the series it rides.
    main_pts = [(r.trading_day, eod_oi.get(r.trading_day, {}).get(r.main_contract)) for r in schedule.rows]
    series.append(
        PlotSeries(
            "main contract",
            [_x(d) for d, oi in main_pts if oi is not None],
            [float(oi) for _, oi in main_pts if oi is not None],
            style="points",
            group="main",
            color="black",
        )
    )
    segments = schedule.segments()
    rolls = [s.first_day for s in segments[1:]]
    figure = LineFigure(
        name="open_interest",
        title=f"{schedule.exchange}.{schedule.variety}: end-of-day open interest and the main contract",
        xlabel="trading day",
        ylabel="open interest (lots)",
        series=tuple(series),
        x_dates=True,
        vlines=tuple(_x(d) for d in rolls),
        caption=(
            f"Dotted lines: first day of a new main (switch when another contract's OI exceeds "
            f"{schedule.switch_ratio:g}x the main's at a close, effective the next day)."
        ),
    )
    rows: list[tuple[str, ...]] = []
    previous = None
    for seg in segments:
        ratio = ""
        if previous is not None:
            decision = max((d for d in days if d < seg.first_day), default=None)
            oi = eod_oi.get(decision, {}) if decision is not None else {}
            new, old = oi.get(seg.contract), oi.get(previous.contract)
            if new is not None and old:
                ratio = f"{new / old:.2f} on {decision}"
        n_days = sum(1 for r in schedule.rows if r.segment_id == seg.segment_id)
        rows.append(
            (str(seg.segment_id), seg.contract, seg.first_day.isoformat(), seg.last_day.isoformat(), str(n_days), ratio)
        )
        previous = seg
    table = ReportTable(
        title="Segments",
        columns=("segment", "main contract", "first day", "last day", "days", "OI new / old at the switch"),
        rows=tuple(rows),
        caption=f"schedule hash {schedule.schedule_hash}",
    )
    return [figure], [table]
