"""The main job (`make run`, later the daily loop): ingest a recent history of CU/AU/AG, check
its coverage, derive the roll schedule, main_l5, features and labels, audit, and report.

Contract choice mirrors how a desk would seed a research set: every listed contract is
downloaded for the last completed trading day, the ``contracts_per_variety`` contracts with the
largest end-of-day open interest that day are kept (the main and its successors), and those are
downloaded over the whole window. Later steps (roll schedule, main_l5, features, models) add
themselves here as further stages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from ghtrader.application.audit import AuditStore, AuditStoreRequest, AuditStoreResult
from ghtrader.application.contract_windows import (
    CatalogContract,
    last_completed_trading_day,
    load_catalog,
    shift_trading_days,
)
from ghtrader.application.coverage import VerifyCoverage, VerifyCoverageRequest, VerifyCoverageResult
from ghtrader.application.datasets.build import BuildDataset, BuildDatasetRequest
from ghtrader.application.datasets.main_l5 import BuildMainL5, BuildMainL5Request
from ghtrader.application.datasets.schedule import BuildMainSchedule, BuildMainScheduleRequest
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.models import TrainConfig
from ghtrader.application.research.benchmark_report import BenchmarkRequest
from ghtrader.application.research.compare import CompareModels, CompareRequest
from ghtrader.application.research.train import TrainModel, TrainRequest
from ghtrader.domain.factors import CORE_L5_FACTORS
from ghtrader.application.ingest import DownloadTicks, DownloadTicksRequest, DownloadTicksResult
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.providers import CalendarSource, DataProvider
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.progress import ProgressCallback, no_progress

DEFAULT_VARIETIES = ("SHFE.cu", "SHFE.au", "SHFE.ag")


@dataclass(frozen=True)
class RunPipelineRequest:
    varieties: tuple[str, ...] = DEFAULT_VARIETIES
    trading_days: int = 12
    contracts_per_variety: int = 3
    end_day: date | None = None  # default: the last completed trading day
    # research stage: compare these families on the first variety's main_l5, register the winner
    research_families: tuple[str, ...] = ("lightgbm", "tcn")
    research_horizon: int = 10
    research_max_train_rows: int = 20_000  # keeps `make run` to minutes on 2 CPU cores
    research_epochs: int = 2
    research_splits: int = 5


@dataclass
class VarietyIngest:
    variety: str
    contracts: list[str]
    eod_open_interest: dict[str, float]
    rows_written: int
    days_downloaded: int
    no_data_days: int


@dataclass
class VarietyDataset:
    """Coverage of the derived data of one variety over the window."""

    variety: str
    symbol: str  # KQ.m@<variety>
    schedule_hash: str
    segments: list[tuple[str, str, str]]  # (contract, first_day, last_day)
    main_l5_days: int
    main_l5_rows: int
    main_l5_missing_days: list[date]
    feature_days: int
    feature_columns: int
    label_days: int
    label_columns: int  # direction labels
    fill_label_days: int
    fill_label_columns: int
    rows: int
    schedule_chart: str | None = None  # HTML chart of the roll (open interest, main, roll days)


@dataclass
class ResearchOutcome:
    symbol: str
    horizon: int
    families: list[str]
    table: dict[str, dict[str, dict[str, float]]]  # metric -> family -> {mean, std, n}
    winner: str
    winner_macro_f1: float
    model_id: str
    version: str
    artifact_dir: str
    report_html: str
    notes: list[str]


@dataclass
class RunPipelineResult:
    start_day: date
    end_day: date
    trading_days: int
    varieties: list[VarietyIngest]
    coverage: VerifyCoverageResult
    audit: AuditStoreResult
    datasets: list[VarietyDataset]
    research: ResearchOutcome | None
    notes: list[str]
    duration_s: float
    stages_s: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.audit.ok
            and self.coverage.missing == 0
            and all(not d.main_l5_missing_days and d.feature_days == d.main_l5_days for d in self.datasets)
        )


class RunPipeline:
    """Ingest -> verify -> audit over a recent window (see module docstring)."""

    def __init__(
        self,
        *,
        download: DownloadTicks,
        verify: VerifyCoverage,
        audit: AuditStore,
        build_schedule: BuildMainSchedule,
        build_main_l5: BuildMainL5,
        build_dataset: BuildDataset,
        compare: CompareModels | None,
        train: TrainModel | None,
        provider: DataProvider,
        ticks: TickStore,
        calendar: CalendarSource,
        clock: Clock,
    ) -> None:
        self._download = download
        self._verify = verify
        self._audit = audit
        self._build_schedule = build_schedule
        self._build_main_l5 = build_main_l5
        self._build_dataset = build_dataset
        self._compare = compare
        self._train = train
        self._provider = provider
        self._ticks = ticks
        self._calendar = calendar
        self._clock = clock

    def __call__(self, request: RunPipelineRequest, progress: ProgressCallback = no_progress) -> RunPipelineResult:
        if request.trading_days < 1 or request.contracts_per_variety < 1:
            raise InvalidArgument("trading_days and contracts_per_variety must be at least 1")
        started = self._clock.monotonic_s()
        cal = self._calendar.load()
        end = request.end_day or last_completed_trading_day(cal, self._clock.now_ns())
        if not cal.is_trading_day(end):
            raise InvalidArgument(f"end day {end} is not a trading day")
        start = shift_trading_days(cal, end, request.trading_days - 1)
        stages: dict[str, float] = {}
        total_steps = len(request.varieties) * 5 + 2 + (2 if request.research_families else 0)
        step = 0

        def stage_progress(label: str) -> ProgressCallback:
            def inner(done: int, total: int, message: str) -> None:
                frac = done / total if total else 0.0
                progress(int(1000 * (step + frac)), 1000 * total_steps, f"{label}: {message}")

            return inner

        ingests: list[VarietyIngest] = []
        t0 = time.monotonic()
        for variety in request.varieties:
            listed = [c.symbol for c in load_catalog(self._provider, variety) if _alive(c, end)]
            if not listed:
                raise InvalidArgument(f"the {self._provider.name} provider lists no contract of {variety} trading on {end}")
            self._download_all(listed, end, end, stage_progress(f"{variety} probe {end}"))
            step += 1
            oi = self._ticks.end_of_day_open_interest(listed, "raw", end, end)
            ranked = sorted(listed, key=lambda s: (-oi.get((s, end), 0.0), s))
            chosen = sorted(ranked[: request.contracts_per_variety])
            results = self._download_all(chosen, start, end, stage_progress(f"{variety} window"))
            step += 1
            ingests.append(
                VarietyIngest(
                    variety=variety,
                    contracts=chosen,
                    eod_open_interest={s: oi.get((s, end), 0.0) for s in chosen},
                    rows_written=sum(r.rows_written for r in results),
                    days_downloaded=sum(r.downloaded for r in results),
                    no_data_days=sum(r.no_data for r in results),
                )
            )
        stages["ingest"] = time.monotonic() - t0
        symbols = tuple(s for v in ingests for s in v.contracts)

        t0 = time.monotonic()
        coverage = self._verify(
            VerifyCoverageRequest(symbols=symbols, start_day=start, end_day=end), stage_progress("verify")
        )
        step += 1
        stages["verify"] = time.monotonic() - t0

        t0 = time.monotonic()
        schedules, main_l5 = {}, {}
        for variety in request.varieties:
            schedules[variety] = self._build_schedule(
                BuildMainScheduleRequest(variety=variety, start_day=start, end_day=end), stage_progress(f"{variety} schedule")
            )
            step += 1
            main_l5[variety] = self._build_main_l5(
                BuildMainL5Request(variety=variety, start_day=start, end_day=end), stage_progress(f"{variety} main_l5")
            )
            step += 1
        stages["main_l5"] = time.monotonic() - t0

        t0 = time.monotonic()
        datasets: list[VarietyDataset] = []
        notes: list[str] = []
        for variety in request.varieties:  # after every main_l5 exists, so cross-asset factors see all metals
            sched, ml5 = schedules[variety], main_l5[variety]
            build_request = BuildDatasetRequest(symbol=ml5.symbol, start_day=start, end_day=end)
            try:
                built = self._build_dataset(build_request, stage_progress(f"{variety} build"))
            except FailedPrecondition as exc:
                # Factor or label definitions changed since the last run: derived data is rebuilt
                # from the stored ticks (never the ticks themselves), and the report says so.
                notes.append(f"{ml5.symbol}: rebuilt features/labels from scratch ({exc})")
                built = self._build_dataset(
                    replace(build_request, overwrite=True), stage_progress(f"{variety} rebuild")
                )
            step += 1
            feats, labels, fills = (built.kinds.get(k) for k in ("features", "labels", "fill_labels"))
            datasets.append(
                VarietyDataset(
                    variety=variety,
                    symbol=ml5.symbol,
                    schedule_hash=sched.schedule_hash,
                    schedule_chart=sched.chart_path,
                    segments=[(s.contract, s.first_day.isoformat(), s.last_day.isoformat()) for s in sched.segments],
                    main_l5_days=ml5.days_scheduled - len(ml5.missing_days),
                    main_l5_rows=ml5.rows_written,
                    main_l5_missing_days=list(ml5.missing_days),
                    feature_days=(len(feats.days_written) + feats.days_up_to_date) if feats else 0,
                    feature_columns=len(feats.columns) if feats else 0,
                    label_days=(len(labels.days_written) + labels.days_up_to_date) if labels else 0,
                    label_columns=len(labels.columns) if labels else 0,
                    fill_label_days=(len(fills.days_written) + fills.days_up_to_date) if fills else 0,
                    fill_label_columns=len(fills.columns) if fills else 0,
                    rows=(feats.rows_written if feats else 0),
                )
            )
        stages["features_labels"] = time.monotonic() - t0

        research = None
        needed = request.research_splits + 2  # train + validation + one test day per split
        if request.research_families and datasets and datasets[0].main_l5_days < needed:
            notes.append(
                f"model research skipped: {datasets[0].main_l5_days} main_l5 days of {datasets[0].symbol} "
                f"are too few for a {request.research_splits}-split walk-forward (needs {needed})"
            )
        elif request.research_families and self._compare is not None and self._train is not None:
            t0 = time.monotonic()
            research = self._research(request, datasets[0], start, end, stage_progress)
            step += 2
            stages["research"] = time.monotonic() - t0

        t0 = time.monotonic()
        audit_symbols = symbols + tuple(d.symbol for d in datasets)
        audit = self._audit(AuditStoreRequest(symbols=audit_symbols), stage_progress("audit"))
        step += 1
        stages["audit"] = time.monotonic() - t0
        progress(total_steps, total_steps, "done")
        return RunPipelineResult(
            start_day=start,
            end_day=end,
            trading_days=request.trading_days,
            varieties=ingests,
            coverage=coverage,
            audit=audit,
            datasets=datasets,
            research=research,
            notes=notes,
            duration_s=self._clock.monotonic_s() - started,
            stages_s=stages,
        )

    def _research(
        self, request: RunPipelineRequest, data: VarietyDataset, start: date, end: date,
        stage_progress: Callable[[str], ProgressCallback],
    ) -> ResearchOutcome:
        """Compare the families walk-forward, then train the winner on the whole window and register it."""
        assert self._compare is not None and self._train is not None
        config = TrainConfig(
            horizon=request.research_horizon,
            max_epochs=request.research_epochs,
            max_train_rows=request.research_max_train_rows,
        )
        base = BenchmarkRequest(
            symbol=data.symbol, start_day=start, end_day=end, feature_names=tuple(CORE_L5_FACTORS),
            horizon=request.research_horizon, n_splits=request.research_splits, train=config,
        )
        report = self._compare(
            CompareRequest(families=request.research_families, base=base), stage_progress("compare")
        )
        f1 = report.table.get("macro_f1", {})
        winner = max(request.research_families, key=lambda f: _finite(f1.get(f, {}).get("mean")))
        trained = self._train(
            TrainRequest(
                family=winner, symbol=data.symbol, start_day=start, end_day=end,
                horizon=request.research_horizon, feature_names=tuple(CORE_L5_FACTORS), config=config,
            ),
            stage_progress(f"train {winner}"),
        )
        return ResearchOutcome(
            symbol=data.symbol,
            horizon=request.research_horizon,
            families=list(request.research_families),
            table=report.table,
            winner=winner,
            winner_macro_f1=_finite(f1.get(winner, {}).get("mean")),
            model_id=trained.entry.model_id,
            version=str(trained.entry.version),
            artifact_dir=str(trained.artifact_dir),
            report_html=str((report.report_paths or {}).get("html_path", "")),
            notes=list(report.notes),
        )

    def _download_all(
        self, symbols: Sequence[str], start: date, end: date, progress: ProgressCallback
    ) -> list[DownloadTicksResult]:
        results = []
        for i, symbol in enumerate(symbols):
            progress(i, len(symbols), symbol)
            results.append(self._download(DownloadTicksRequest(symbol=symbol, start_day=start, end_day=end)))
        progress(len(symbols), len(symbols), "downloaded")
        return results


def _finite(value: object) -> float:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("-inf")
    return v if v == v else float("-inf")


def _alive(contract: CatalogContract, day: date) -> bool:
    first, last = contract.info.first_trading_day, contract.info.last_trading_day
    return (first is None or first <= day) and (last is None or day <= last)
