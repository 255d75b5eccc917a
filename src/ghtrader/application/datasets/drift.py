"""CheckDrift: PSI and KS of each feature's recent window against its training reference.

Both windows are read from the built dataset (features or labels) of one symbol; the
statistics are the domain's (:mod:`ghtrader.domain.drift`). A feature drifts when its PSI is
above ``psi_threshold`` or its KS statistic above ``ks_threshold`` (with tick-level samples
in the tens of thousands the KS p-value is tiny for any visible shift, so the statistic itself
is the useful threshold; the p-value is reported too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from ghtrader.application.contract_windows import check_symbol
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.datasets import DatasetStore
from ghtrader.application.ports.reports import ReportSink
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.domain.drift import DriftError, DriftStats, drift_stats
from ghtrader.domain.instruments import ContinuousSymbol, parse_symbol

__all__ = ["CheckDrift", "CheckDriftRequest", "CheckDriftResult", "FeatureDrift"]


@dataclass(frozen=True)
class CheckDriftRequest:
    """Compare ``columns`` (default: every column of the kind) of ``symbol`` on the recent window
    against the reference window (inclusive trading days)."""

    symbol: str
    reference_start: date
    reference_end: date
    recent_start: date
    recent_end: date
    kind: str = "features"
    columns: tuple[str, ...] | None = None
    ticks_lake: str | None = None
    bins: int = 10
    psi_threshold: float = 0.25
    ks_threshold: float = 0.1
    max_samples: int = 200_000  # per window: an evenly strided subsample above this


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    stats: DriftStats
    drifted: bool


@dataclass
class CheckDriftResult:
    symbol: str
    kind: str
    reference_rows: int
    recent_rows: int
    features: list[FeatureDrift]
    drifted: list[str]
    run_id: str = ""
    report_path: str | None = None


def _subsample(values: np.ndarray, limit: int) -> np.ndarray:
    if values.shape[0] <= limit:
        return values
    return values[np.linspace(0, values.shape[0] - 1, limit).astype(np.int64)]


class CheckDrift:
    """Drift of a recent window against the training reference, per feature."""

    def __init__(self, *, datasets: DatasetStore, clock: Clock, reports: ReportSink | None = None) -> None:
        self._datasets = datasets
        self._clock = clock
        self._reports = reports

    def __call__(self, request: CheckDriftRequest) -> CheckDriftResult:
        symbol = check_symbol(request.symbol)
        lake = request.ticks_lake or ("main_l5" if isinstance(parse_symbol(symbol), ContinuousSymbol) else "raw")
        if request.reference_start > request.reference_end or request.recent_start > request.recent_end:
            raise InvalidArgument("each window needs start <= end")
        if request.max_samples < 10:
            raise InvalidArgument(f"max_samples must be >= 10, got {request.max_samples}")
        cols = list(request.columns) if request.columns is not None else self._datasets.column_names(request.kind)
        ref = self._datasets.read(
            request.kind, symbol, request.reference_start, request.reference_end, ticks_lake=lake, columns=cols
        )
        new = self._datasets.read(
            request.kind, symbol, request.recent_start, request.recent_end, ticks_lake=lake, columns=cols
        )
        n_ref, n_new = ref["datetime_ns"].shape[0], new["datetime_ns"].shape[0]
        if n_ref == 0 or n_new == 0:
            raise FailedPrecondition(
                f"no {request.kind} of {symbol} in the {'reference' if n_ref == 0 else 'recent'} window: build it first"
            )
        out: list[FeatureDrift] = []
        for name in cols:
            try:
                stats = drift_stats(
                    _subsample(ref[name], request.max_samples), _subsample(new[name], request.max_samples), request.bins
                )
            except DriftError as exc:
                raise InvalidArgument(str(exc)) from exc
            drifted = bool(
                (np.isfinite(stats.psi) and stats.psi > request.psi_threshold)
                or (np.isfinite(stats.ks_statistic) and stats.ks_statistic > request.ks_threshold)
            )
            out.append(FeatureDrift(name, stats, drifted))
        result = CheckDriftResult(
            symbol=symbol,
            kind=request.kind,
            reference_rows=n_ref,
            recent_rows=n_new,
            features=out,
            drifted=[f.feature for f in out if f.drifted],
            run_id=make_run_id(self._clock.now_ns(), f"drift_{symbol}"),
        )
        if self._reports is not None:
            payload = {"use_case": "drift", "request": to_jsonable(request), "result": to_jsonable(result)}
            result.report_path = self._reports.write_json("drift", result.run_id, payload)
        return result
