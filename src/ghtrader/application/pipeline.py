"""The main job (`make run`, later the daily loop): ingest a recent history of CU/AU/AG, check
its coverage, derive the roll schedule, main_l5, features and labels, compare models, train and
backtest the winner, put it through the promotion gate, audit, and report.

Contract choice (:func:`ghtrader.domain.schedule.choose_contracts`) works on the PROVIDER's
end-of-day open interest, not on what happened to be downloaded: the roll rule runs over the
provider's OI from ``oi_lookback_days`` trading days before the window (its hysteresis needs
history) to the end day, and the job downloads every main of the window plus the
``contracts_per_variety`` contracts with the largest OI on the end day. A main that has no ticks
on some day (a feed gap) is still chosen; the stored schedule is seeded with the main the
provider's history gives for the window's first day, and a contract-day without ticks (in the
no-data ledger) votes in the roll rule with the provider's OI of that day.

Every stage runs on its own: a stage that fails is recorded with its error (``stage_errors``)
and the stages that do not depend on it still run. ``failed_conditions`` names each reason the
run is not ok (audit errors, days that could be downloaded but are missing, a failed stage);
a main_l5 day whose underlying had no ticks is a recorded no-data day, not a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from typing import Any, TypeVar

from ghtrader.application.audit import AuditStore, AuditStoreRequest, AuditStoreResult
from ghtrader.application.contract_windows import (
    check_variety,
    last_completed_trading_day,
    load_catalog,
    shift_trading_days,
)
from ghtrader.application.coverage import (
    VerifyCoverage,
    VerifyCoverageRequest,
    VerifyCoverageResult,
)
from ghtrader.application.datasets.build import (
    BuildDataset,
    BuildDatasetRequest,
    BuildDatasetResult,
)
from ghtrader.application.datasets.main_l5 import (
    BuildMainL5,
    BuildMainL5Request,
    BuildMainL5Result,
)
from ghtrader.application.datasets.schedule import (
    BuildMainSchedule,
    BuildMainScheduleRequest,
    BuildMainScheduleResult,
)
from ghtrader.application.errors import (
    ApplicationError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from ghtrader.application.ingest import (
    DownloadTicks,
    DownloadTicksRequest,
    DownloadTicksResult,
)
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.models import TrainConfig
from ghtrader.application.ports.providers import CalendarSource, DataProvider
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.research.backtest import RunBacktest
from ghtrader.application.research.backtest_report import BacktestRequest
from ghtrader.application.research.benchmark_report import BenchmarkRequest
from ghtrader.application.research.compare import CompareModels, CompareRequest
from ghtrader.application.research.promotion import ModelPromotion, PromoteRequest
from ghtrader.application.research.train import TrainModel, TrainRequest
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError
from ghtrader.domain.factors import CORE_L5_FACTORS
from ghtrader.domain.promotion import GateMetrics
from ghtrader.domain.schedule import (
    DEFAULT_SWITCH_RATIO,
    ContractChoice,
    ScheduleError,
    choose_contracts,
)

DEFAULT_VARIETIES = ("SHFE.cu", "SHFE.au", "SHFE.ag")
_T = TypeVar("_T")
MAX_TRADING_DAYS = 2000  # about eight years: longer windows are a typo, not a research set


@dataclass(frozen=True)
class RunPipelineRequest:
    varieties: tuple[str, ...] = DEFAULT_VARIETIES
    trading_days: int = 12
    contracts_per_variety: int = 3
    end_day: date | None = None  # default: the last completed trading day
    start_day: date | None = None  # when given, the window is [start_day, end_day] (trading_days ignored)
    oi_lookback_days: int = 60  # provider OI history before the window for the roll rule's hysteresis
    # research stage: compare these families on the first variety's main_l5, register the winner
    research_families: tuple[str, ...] = ("lightgbm", "tcn")
    research_horizon: int = 10
    research_max_train_rows: int = 20_000  # keeps `make run` to minutes on 2 CPU cores
    research_epochs: int = 2
    research_splits: int = 5
    # held-out backtest of the winner: its last N trading days are kept out of its training (and the
    # policy-fit day before them too) and traded through the micro-simulator; 0 = no backtest
    research_backtest_days: int = 2


@dataclass
class VarietyIngest:
    variety: str
    contracts: list[str]
    eod_open_interest: dict[str, float]  # the provider's, on the end day (a contract without ticks included)
    rows_written: int
    days_downloaded: int
    no_data_days: int
    main_on_start: str | None = None  # by the roll rule over the provider's OI
    main_on_end: str | None = None


@dataclass(frozen=True)
class StageError:
    """A stage that raised: its name (``ingest SHFE.cu``, ``audit``...), error type and message."""

    stage: str
    error: str
    message: str


@dataclass(frozen=True)
class FailedCondition:
    """One reason a run is not ok.

    ``name`` is one of ``stage_failed``, ``audit_errors``, ``coverage_missing_days``,
    ``main_l5_missing_days``, ``features_incomplete``; ``subject`` is the stage, symbol or
    variety concerned; ``detail`` says what a person should know or do.
    """

    name: str
    subject: str
    detail: str


@dataclass
class VarietyDataset:
    """Coverage of the derived data of one variety over the window."""

    variety: str
    symbol: str  # KQ.m@<variety>
    schedule_hash: str
    segments: list[tuple[str, str, str]]  # (contract, first_day, last_day)
    main_l5_days: int
    main_l5_rows: int
    main_l5_missing_days: list[date]  # scheduled, underlying never downloaded
    feature_days: int
    feature_columns: int
    label_days: int
    label_columns: int  # direction labels
    fill_label_days: int
    fill_label_columns: int
    rows: int
    schedule_chart: str | None = None  # HTML chart of the roll (open interest, main, roll days)
    main_l5_no_data_days: list[dict[str, str]] = field(default_factory=list)  # day, contract, reason


@dataclass
class ResearchOutcome:
    symbol: str
    horizon: int
    families: list[str]
    table: dict[str, dict[str, dict[str, float]]]  # metric -> family -> {mean, std, n}
    winner: str  # the family with the lowest mean log-loss (calibrated probabilities: a proper score)
    winner_macro_f1: float
    winner_log_loss: float
    winner_info_captured: float  # NaN without the Bayes oracle
    model_id: str
    version: str
    artifact_dir: str
    report_html: str
    notes: list[str]
    train_days: tuple[date, date] | None = None  # the winner's training window
    backtest: dict[str, Any] | None = None  # held-out backtest: days, summary, by session / regime, report
    # the promotion gate on the winner vs its model id's production version: promoted, decision, versions
    promotion: dict[str, Any] | None = None


@dataclass
class RunPipelineResult:
    start_day: date
    end_day: date
    trading_days: int
    varieties: list[VarietyIngest]
    coverage: VerifyCoverageResult | None  # None: the verify stage failed
    audit: AuditStoreResult | None  # None: the audit stage failed
    datasets: list[VarietyDataset]
    research: ResearchOutcome | None
    notes: list[str]
    duration_s: float
    stages_s: dict[str, float] = field(default_factory=dict)
    stages_completed: list[str] = field(default_factory=list)
    stage_errors: list[StageError] = field(default_factory=list)
    failed_conditions: list[FailedCondition] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The job did its work: no failed condition (main_l5 no-data days are no failure)."""
        return not self.failed_conditions


def failed_conditions(result: RunPipelineResult) -> list[FailedCondition]:
    """Every reason ``result`` is not ok, in stage order."""
    out = [FailedCondition("stage_failed", e.stage, f"{e.error}: {e.message}") for e in result.stage_errors]
    if result.coverage is not None and result.coverage.missing:
        for c in result.coverage.contracts:
            if c.missing:
                out.append(
                    FailedCondition(
                        "coverage_missing_days",
                        c.symbol,
                        f"{c.missing} trading days could be downloaded but are not stored: run data fill-missing",
                    )
                )
    for d in result.datasets:
        if d.main_l5_missing_days:
            days = ", ".join(x.isoformat() for x in d.main_l5_missing_days[:5])
            out.append(
                FailedCondition(
                    "main_l5_missing_days",
                    d.symbol,
                    f"{len(d.main_l5_missing_days)} scheduled days whose main contract was never downloaded ({days})",
                )
            )
        if d.feature_days != d.main_l5_days:
            out.append(
                FailedCondition(
                    "features_incomplete",
                    d.symbol,
                    f"features cover {d.feature_days} of {d.main_l5_days} main_l5 days",
                )
            )
    if result.audit is not None and not result.audit.ok:
        failing = sorted({f.check for f in result.audit.errors()})
        for check in failing:
            n = len(result.audit.errors(check))
            out.append(
                FailedCondition("audit_errors", check, f"{n} error findings of the {check} check: see the audit report")
            )
        if not failing:
            out.append(FailedCondition("audit_errors", "audit", "the audit is not clean: see the audit report"))
    return out


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
        backtest: RunBacktest | None = None,
        promotion: ModelPromotion | None = None,
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
        self._backtest = backtest
        self._promotion = promotion
        self._provider = provider
        self._ticks = ticks
        self._calendar = calendar
        self._clock = clock

    def __call__(self, request: RunPipelineRequest, progress: ProgressCallback = no_progress) -> RunPipelineResult:
        started = self._clock.monotonic_s()
        cal = self._calendar.load()
        start, end = self._window(request, cal)
        trading_days = len(cal.trading_days(start, end))
        stages: dict[str, float] = {}
        completed: list[str] = []
        errors: list[StageError] = []
        notes: list[str] = []
        total_steps = len(request.varieties) * 5 + 2 + (2 if request.research_families else 0)
        step = 0
        caller_stopped: list[BaseException] = []

        def stage_progress(label: str) -> ProgressCallback:
            def inner(done: int, total: int, message: str) -> None:
                frac = done / total if total else 0.0
                try:
                    progress(int(1000 * (step + frac)), 1000 * total_steps, f"{label}: {message}")
                except BaseException as exc:  # the caller asks to stop (e.g. cancelled): never a stage failure
                    caller_stopped.append(exc)
                    raise

            return inner

        def run_stage(name: str, fn: Callable[[], _T]) -> _T | None:
            """Run one stage; on failure record its error and return None."""
            try:
                value = fn()
            except (ApplicationError, DomainError, OSError, ValueError, RuntimeError) as exc:
                if caller_stopped:
                    raise
                errors.append(StageError(name, type(exc).__name__, str(exc)))
                return None
            completed.append(name)
            return value

        ingests: list[VarietyIngest] = []
        choices: dict[str, ContractChoice] = {}
        provider_oi: dict[str, dict[date, dict[str, float]]] = {}
        t0 = time.monotonic()
        for variety in request.varieties:
            got = run_stage(f"ingest {variety}", partial(self._ingest, request, variety, start, end, stage_progress))
            step += 2
            if got is not None:
                ingests.append(got[0])
                choices[variety], provider_oi[variety] = got[1], got[2]
        stages["ingest"] = time.monotonic() - t0
        symbols = tuple(s for v in ingests for s in v.contracts)

        t0 = time.monotonic()
        coverage = None
        if symbols:
            coverage = run_stage(
                "verify",
                lambda: self._verify(
                    VerifyCoverageRequest(symbols=symbols, start_day=start, end_day=end), stage_progress("verify")
                ),
            )
        step += 1
        stages["verify"] = time.monotonic() - t0

        t0 = time.monotonic()
        schedules: dict[str, BuildMainScheduleResult] = {}
        main_l5: dict[str, BuildMainL5Result] = {}
        for variety in request.varieties:
            if variety not in choices:
                continue  # its ingest failed: nothing to schedule
            first_main = choices[variety].main_on(start)
            sched = run_stage(
                f"schedule {variety}",
                partial(
                    self._build_schedule,
                    BuildMainScheduleRequest(
                        variety=variety,
                        start_day=start,
                        end_day=end,
                        initial_main=first_main,
                        gap_open_interest=provider_oi[variety],
                    ),
                    stage_progress(f"{variety} schedule"),
                ),
            )
            step += 1
            if sched is None:
                continue
            schedules[variety] = sched
            ml5 = run_stage(
                f"main_l5 {variety}",
                partial(
                    self._build_main_l5,
                    BuildMainL5Request(variety=variety, start_day=start, end_day=end),
                    stage_progress(f"{variety} main_l5"),
                ),
            )
            step += 1
            if ml5 is not None:
                main_l5[variety] = ml5
        stages["main_l5"] = time.monotonic() - t0

        t0 = time.monotonic()
        datasets: list[VarietyDataset] = []
        for variety in request.varieties:  # after every main_l5 exists, so cross-asset factors see all metals
            if variety not in main_l5:
                continue
            sched, ml5 = schedules[variety], main_l5[variety]
            built = run_stage(
                f"features_labels {variety}",
                partial(self._build_features, ml5.symbol, variety, start, end, notes, stage_progress),
            )
            step += 1
            if built is None:
                continue
            feats, labels, fills = (built.kinds.get(k) for k in ("features", "labels", "fill_labels"))
            no_data = [
                {"trading_day": g.trading_day.isoformat(), "contract": g.underlying_contract, "reason": g.reason}
                for g in ml5.no_data_days
            ]
            datasets.append(
                VarietyDataset(
                    variety=variety,
                    symbol=ml5.symbol,
                    schedule_hash=sched.schedule_hash,
                    schedule_chart=sched.chart_path,
                    segments=[(s.contract, s.first_day.isoformat(), s.last_day.isoformat()) for s in sched.segments],
                    main_l5_days=ml5.days_scheduled - len(ml5.missing_days) - len(ml5.no_data_days),
                    main_l5_rows=ml5.rows_written,
                    main_l5_missing_days=list(ml5.missing_days),
                    main_l5_no_data_days=no_data,
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
        if request.research_families and not datasets:
            notes.append("model research skipped: no variety has features")
        elif request.research_families and datasets[0].main_l5_days < needed:
            notes.append(
                f"model research skipped: {datasets[0].main_l5_days} main_l5 days of {datasets[0].symbol} "
                f"are too few for a {request.research_splits}-split walk-forward (needs {needed})"
            )
        elif request.research_families and self._compare is not None and self._train is not None:
            t0 = time.monotonic()
            research = run_stage("research", lambda: self._research(request, datasets[0], start, end, stage_progress))
            step += 2
            stages["research"] = time.monotonic() - t0

        t0 = time.monotonic()
        audit_symbols = symbols + tuple(d.symbol for d in datasets)
        audit = run_stage(
            "audit", lambda: self._audit(AuditStoreRequest(symbols=audit_symbols), stage_progress("audit"))
        )
        step += 1
        stages["audit"] = time.monotonic() - t0
        progress(total_steps, total_steps, "done")
        result = RunPipelineResult(
            start_day=start,
            end_day=end,
            trading_days=trading_days,
            varieties=ingests,
            coverage=coverage,
            audit=audit,
            datasets=datasets,
            research=research,
            notes=notes,
            duration_s=self._clock.monotonic_s() - started,
            stages_s=stages,
            stages_completed=completed,
            stage_errors=errors,
        )
        result.failed_conditions = failed_conditions(result)
        return result

    def _window(self, request: RunPipelineRequest, cal: TradingCalendar) -> tuple[date, date]:
        """``(start, end)`` of the request, validated (InvalidArgument names the argument)."""
        if not request.varieties:
            raise InvalidArgument("varieties: name at least one variety such as SHFE.cu")
        if request.contracts_per_variety < 1:
            raise InvalidArgument(f"contracts_per_variety must be at least 1, got {request.contracts_per_variety}")
        if request.oi_lookback_days < 0:
            raise InvalidArgument(f"oi_lookback_days must be >= 0, got {request.oi_lookback_days}")
        last_done = last_completed_trading_day(cal, self._clock.now_ns())
        end = request.end_day or last_done
        if end > last_done:
            raise InvalidArgument(f"end_day {end} is in the future: the last completed trading day is {last_done}")
        if not cal.is_trading_day(end):
            raise InvalidArgument(f"end_day {end} is not a trading day")
        if request.start_day is not None:
            if request.start_day > end:
                raise InvalidArgument(f"start_day {request.start_day} is after end_day {end}")
            start = (
                request.start_day if cal.is_trading_day(request.start_day) else cal.next_trading_day(request.start_day)
            )
            days = len(cal.trading_days(start, end))
            what = f"start_day {request.start_day}..end_day {end}"
        else:
            days = request.trading_days
            if days < 1:
                raise InvalidArgument(f"trading_days must be at least 1, got {days}")
            what = f"trading_days {days}"
            start = end if days > MAX_TRADING_DAYS else shift_trading_days(cal, end, days - 1)
        if days > MAX_TRADING_DAYS:
            raise InvalidArgument(
                f"{what}: a window of {days} trading days is longer than the limit of {MAX_TRADING_DAYS}"
            )
        for variety in request.varieties:
            firsts = [c.info.first_trading_day for c in load_catalog(self._provider, variety)]
            known = [d for d in firsts if d is not None]
            if known and start < min(known):
                raise InvalidArgument(
                    f"{what}: the window starts on {start}, before the {self._provider.name} provider's first "
                    f"{variety} contract day {min(known)}; use a shorter window or a later end_day"
                )
        return start, end

    def _ingest(
        self,
        request: RunPipelineRequest,
        variety: str,
        start: date,
        end: date,
        stage_progress: Callable[[str], ProgressCallback],
    ) -> tuple[VarietyIngest, ContractChoice, dict[date, dict[str, float]]]:
        """Choose the variety's contracts from the provider's OI and download them over the window;
        also returns that OI (every day from the lookback to the end)."""
        cal = self._calendar.load()
        variety = check_variety(variety)
        exchange, name = variety.split(".", 1)
        catalog = load_catalog(self._provider, variety)
        expiry = {c.symbol: c.info.last_trading_day for c in catalog if c.info.last_trading_day is not None}
        lookback = shift_trading_days(cal, start, request.oi_lookback_days)
        stage_progress(f"{variety} open interest")(0, 1, f"{lookback}..{end}")
        provider_oi = self._provider.end_of_day_open_interest(variety, lookback, end)
        eod = {d: dict(provider_oi.get(d, {})) for d in cal.trading_days(lookback, end)}
        try:
            choice = choose_contracts(
                eod,
                start,
                request.contracts_per_variety,
                exchange=exchange,
                variety=name,
                switch_ratio=DEFAULT_SWITCH_RATIO,
                last_trading_day=expiry,
            )
        except ScheduleError as exc:
            raise InvalidArgument(f"{variety}: {exc}") from exc
        if not choice.contracts:
            raise FailedPrecondition(
                f"the {self._provider.name} provider reports no open interest of {variety} on {end}"
            )
        chosen = list(choice.contracts)
        results = self._download_all(chosen, start, end, stage_progress(f"{variety} window"))
        end_oi = eod.get(end, {})
        ingest = VarietyIngest(
            variety=variety,
            contracts=chosen,
            eod_open_interest={s: float(end_oi.get(s, 0.0)) for s in chosen},
            rows_written=sum(r.rows_written for r in results),
            days_downloaded=sum(r.downloaded for r in results),
            no_data_days=sum(r.no_data for r in results),
            main_on_start=choice.main_on(start),
            main_on_end=choice.main_on(end),
        )
        return ingest, choice, eod

    def _build_features(
        self,
        symbol: str,
        variety: str,
        start: date,
        end: date,
        notes: list[str],
        stage_progress: Callable[[str], ProgressCallback],
    ) -> BuildDatasetResult:
        build_request = BuildDatasetRequest(symbol=symbol, start_day=start, end_day=end)
        try:
            return self._build_dataset(build_request, stage_progress(f"{variety} build"))
        except FailedPrecondition as exc:
            # Factor or label definitions changed since the last run: derived data is rebuilt
            # from the stored ticks (never the ticks themselves), and the report says so.
            notes.append(f"{symbol}: rebuilt features/labels from scratch ({exc})")
            return self._build_dataset(replace(build_request, overwrite=True), stage_progress(f"{variety} rebuild"))

    def _research(
        self,
        request: RunPipelineRequest,
        data: VarietyDataset,
        start: date,
        end: date,
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
            symbol=data.symbol,
            start_day=start,
            end_day=end,
            feature_names=tuple(CORE_L5_FACTORS),
            horizon=request.research_horizon,
            n_splits=request.research_splits,
            train=config,
        )
        report = self._compare(CompareRequest(families=request.research_families, base=base), stage_progress("compare"))
        f1 = report.table.get("macro_f1", {})
        ll = report.table.get("log_loss", {})
        info = report.table.get("info_captured", {})
        winner = choose_winner(request.research_families, report.table)
        days = self._calendar.load().trading_days(start, end)
        held: list[date] = []
        train_end = end
        # held-out days plus the policy-fit day before them leave the training window; the
        # training window keeps at least the compare's minimum (train + validation + a day)
        if (
            self._backtest is not None
            and request.research_backtest_days > 0
            and len(days) >= 3 + (request.research_backtest_days + 1)
        ):
            held = days[-request.research_backtest_days :]
            train_end = days[-request.research_backtest_days - 2]
        trained = self._train(
            TrainRequest(
                family=winner,
                symbol=data.symbol,
                start_day=start,
                end_day=train_end,
                horizon=request.research_horizon,
                feature_names=tuple(CORE_L5_FACTORS),
                config=config,
            ),
            stage_progress(f"train {winner}"),
        )
        outcome = ResearchOutcome(
            symbol=data.symbol,
            horizon=request.research_horizon,
            families=list(request.research_families),
            table=report.table,
            winner=winner,
            winner_macro_f1=_finite(f1.get(winner, {}).get("mean")),
            winner_log_loss=_finite_or_inf(ll.get(winner, {}).get("mean")),
            winner_info_captured=_nan_if_missing(info.get(winner, {}).get("mean")),
            model_id=trained.entry.model_id,
            version=str(trained.entry.version),
            artifact_dir=str(trained.artifact_dir),
            report_html=str((report.report_paths or {}).get("html_path", "")),
            notes=list(report.notes),
            train_days=(start, train_end),
            backtest=self._held_out_backtest(
                trained.entry.model_id, str(trained.entry.version), data.symbol, held, stage_progress
            ),
        )
        try:
            outcome.promotion = self._promote(outcome, start, end)
        except (ApplicationError, DomainError) as exc:  # the research result stands without it
            outcome.promotion = {"error": f"{type(exc).__name__}: {exc}"}
        return outcome

    def _promote(self, research: ResearchOutcome, start: date, end: date) -> dict[str, Any] | None:
        """The winner through the promotion gate: its walk-forward means (macro-F1, information
        captured, ECE, p99 latency) and its held-out backtest's Sharpe and drawdown (the walk-
        forward's when the backtest did not run) against the production version of its model id
        (that version's newest recorded evaluation). Kept: the winner stays in development."""
        if self._promotion is None:
            return None
        w = research.winner

        def mean(key: str) -> float:
            v = research.table.get(key, {}).get(w, {}).get("mean")
            return float(v) if v is not None else float("nan")

        held = research.backtest or {}
        bt = held.get("summary")
        if bt:
            sharpe, drawdown = bt.get("sharpe", float("nan")), bt.get("max_drawdown", float("nan"))
        else:
            sharpe, drawdown = mean("net_sharpe"), mean("net_max_drawdown")
        gate = GateMetrics(
            net_sharpe=float(sharpe), max_drawdown=float(drawdown), macro_f1=mean("macro_f1"),
            info_captured=mean("info_captured"), ece=mean("ece"), latency_us=mean("latency_p99_ms") * 1000.0,
        )  # fmt: skip
        where = f"walk-forward {start}..{end}" + (f", backtest {held['days'][0]}..{held['days'][1]}" if bt else "")
        r = self._promotion.promote(
            PromoteRequest(
                model_id=research.model_id,
                version=research.version,
                reason=f"make run {start}..{end}",
                actor="make-run",
                candidate_metrics=gate,
                evaluation={"test_days": where, "models": {research.version: gate.to_dict()}},
            )
        )
        live = self._promotion.production(research.model_id)
        return {
            "promoted": r.promoted,
            "previous_production": r.previous_production,
            "production_version": None if live is None else live.version,
            "metrics": gate.to_dict(),
            "decision": r.decision.to_dict(),
        }

    def _held_out_backtest(
        self,
        model_id: str,
        version: str,
        symbol: str,
        held: list[date],
        stage_progress: Callable[[str], ProgressCallback],
    ) -> dict[str, Any] | None:
        """The registered winner traded on the held-out days (aggressive, default fees, prob_log);
        the policy is fitted on the trading day before them (out of the model's training window)."""
        if self._backtest is None or not held:
            return None
        try:
            r = self._backtest(
                BacktestRequest(model_id=model_id, version=version, symbol=symbol, start_day=held[0], end_day=held[-1]),
                stage_progress(f"backtest {model_id}"),
            )
        except (FailedPrecondition, NotFound) as exc:  # the research result stands without it
            return {"days": [held[0], held[-1]], "error": str(exc)}
        return {
            "days": [held[0], held[-1]],
            "fit_days": r.fit_days,
            "execution": r.execution,
            "queue_model": r.queue_model,
            "policy_trades": bool(r.policy.get("trades")),
            "summary": r.summary,
            "by_session": r.by_session,
            "by_regime": r.by_regime,
            "elapsed_s": r.elapsed_s,
            "report_html": str((r.report_paths or {}).get("html_path", "")),
            "notes": r.notes,
        }

    def _download_all(
        self, symbols: Sequence[str], start: date, end: date, progress: ProgressCallback
    ) -> list[DownloadTicksResult]:
        results = []
        for i, symbol in enumerate(symbols):
            progress(i, len(symbols), symbol)
            results.append(self._download(DownloadTicksRequest(symbol=symbol, start_day=start, end_day=end)))
        progress(len(symbols), len(symbols), "downloaded")
        return results


def _finite(value: float | None) -> float:
    if value is None:
        return float("-inf")
    v = float(value)
    return v if v == v else float("-inf")


def choose_winner(families: Sequence[str], table: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str:
    """The family with the lowest mean log-loss in a comparison ``table`` (metric -> family ->
    stats); the first listed wins ties, a family without a finite log-loss ranks last. Log-loss,
    not argmax macro-F1: calibrated probabilities are what the policies and later gates use."""
    ll = table.get("log_loss", {})
    return min(families, key=lambda f: _finite_or_inf(ll.get(f, {}).get("mean")))


def _finite_or_inf(value: float | None) -> float:
    """``value`` when finite, else +inf (a missing loss ranks last)."""
    if value is None:
        return float("inf")
    v = float(value)
    return v if v == v and abs(v) != float("inf") else float("inf")


def _nan_if_missing(value: float | None) -> float:
    return float("nan") if value is None else float(value)
