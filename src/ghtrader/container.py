"""Composition root: the only place that knows which adapter backs which port.

Nothing starts at import or at construction: providers are lazy, and the database server,
connections and the gRPC server start when an entry point first asks for them
(``container.stores()``, ``container.grpc_server().start()``) and stop in
``container.shutdown_resources()``. Tests override any provider with an in-memory fake.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

import ghtrader
from ghtrader.adapters.csv import CsvDataProvider
from ghtrader.adapters.filesystem.account_cache import FilesystemAccountCache
from ghtrader.adapters.filesystem.artifacts import FilesystemArtifactStore
from ghtrader.adapters.filesystem.calendar_cache import CachedHolidayCalendarSource
from ghtrader.adapters.filesystem.feature_sets import JsonFeatureSetStore
from ghtrader.adapters.filesystem.json_reports import JsonFileReportSink
from ghtrader.adapters.filesystem.regime_models import FilesystemRegimeModelStore
from ghtrader.adapters.filesystem.report_figures import FilesystemReportFigures
from ghtrader.adapters.filesystem.run_manifests import JsonRunManifestStore
from ghtrader.adapters.filesystem.run_snapshots import FilesystemRunSnapshots
from ghtrader.adapters.filesystem.trading_runs import FilesystemTradingRunStore
from ghtrader.adapters.host.build_info import code_version, git_commit
from ghtrader.adapters.host.clock import ReplayClock, SystemClock
from ghtrader.adapters.host.directory_sizes import ScandirDirectorySizer, file_size
from ghtrader.adapters.host.resources import PsutilHostProbe, PsutilStorageSpace
from ghtrader.adapters.http.fetch import text_fetcher
from ghtrader.adapters.scheduling import ServerScheduler, SqliteUpdateLedger
from ghtrader.adapters.simulated import SimulatedExecutionProvider
from ghtrader.adapters.sqlite import SqliteJobStore
from ghtrader.adapters.synthetic import SyntheticDataProvider, SyntheticLiveFeed
from ghtrader.adapters.synthetic.oracle import SyntheticOracleSource
from ghtrader.adapters.tqsdk import (
    SharedTqApi,
    TqAccountSpec,
    TqSdkConfig,
    TqSdkDataProvider,
    TqSdkDirectExecution,
    TqSdkLiveFeed,
    TqSdkTargetPosExecution,
)
from ghtrader.adapters.tqsdk.verify import TqSdkAccountProbe
from ghtrader.application.accounts import ListAccounts, VerifyAccount
from ghtrader.application.alerts import ListAnomalies, ScanAnomalies
from ghtrader.application.alerts_drift import ScanModelDrift
from ghtrader.application.audit import AuditStore
from ghtrader.application.coverage import BootstrapIndex, ContractStatus, FillMissing, VerifyCoverage
from ghtrader.application.daily_update import (
    LedgerEntry,
    ScheduleDailyTrain,
    ScheduleDailyUpdates,
    parse_targets,
    parse_train_symbols,
)
from ghtrader.application.datasets.build import BuildDataset
from ghtrader.application.datasets.main_l5 import BuildMainL5
from ghtrader.application.datasets.schedule import BuildMainSchedule
from ghtrader.application.directory_sizes import GetDirectorySizes
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.experiments import ExperimentRecorder, Experiments
from ghtrader.application.free_space import FreeSpaceGuard
from ghtrader.application.ingest import DownloadContractRange, DownloadTicks, UpdateContracts
from ghtrader.application.pipeline import RunPipeline
from ghtrader.application.pipeline_readiness import GetPipelineReadiness
from ghtrader.application.ports.accounts import BrokerProfile
from ghtrader.application.ports.alerts import AnomalyStore
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.datasets import DatasetStore, ScheduleStore
from ghtrader.application.ports.ensembles import EnsembleConfigStore, EnsembleGraphWriter
from ghtrader.application.ports.experiments import ExperimentExporter, ExperimentStore
from ghtrader.application.ports.explain import AttentionProbe, Attributor
from ghtrader.application.ports.fanout import FanoutExecutor
from ghtrader.application.ports.hpo import HpoStudies, HpoTrialStore, SpaceCatalog
from ghtrader.application.ports.models import InferenceRuntime, ModelFamily, ModelRegistry
from ghtrader.application.ports.providers import CalendarSource, TickCallback
from ghtrader.application.ports.query import ReadOnlyQuery
from ghtrader.application.ports.regimes import RegimeModelStore
from ghtrader.application.ports.stores import IndexStore, SchemaManager, StoreBundle, TickStore
from ghtrader.application.ports.system import StoreProbe
from ghtrader.application.query import RunQuery
from ghtrader.application.recorder import RecordTicks
from ghtrader.application.research.backtest import RunBacktest
from ghtrader.application.research.benchmark import RunBenchmark
from ghtrader.application.research.calibration import CalibratedFamily
from ghtrader.application.research.compare import CompareModels
from ghtrader.application.research.daily_train import DailyTrain
from ghtrader.application.research.ensemble import EnsembleFamily
from ghtrader.application.research.ensemble_configs import EnsembleConfigs, StoredEnsembles
from ghtrader.application.research.ensemble_registered import RegisteredMembers
from ghtrader.application.research.explain import ExplainModel
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.application.research.feature_selection import SelectFeatures
from ghtrader.application.research.frames import StoreFrameSource
from ghtrader.application.research.generated_frames import GeneratedFrameSource
from ghtrader.application.research.hpo import RunHpo
from ghtrader.application.research.model_cards import GetModelCard
from ghtrader.application.research.promotion import ModelPromotion
from ghtrader.application.research.sweep import RunSweep
from ghtrader.application.research.train import TrainModel
from ghtrader.application.run_manifest import RunRecorder
from ghtrader.application.system import GetSystemStatus
from ghtrader.application.tca import AnalyzeTca, PreTradeTca
from ghtrader.application.trading.account_lock import AccountLocks
from ghtrader.application.trading.equity_curve import GetEquityCurve
from ghtrader.application.trading.request import TradingRunRequest
from ghtrader.application.trading.risk_setup import risk_engine_factory, risk_limits
from ghtrader.application.trading.run import ExecutionFactory, StartTradingRun
from ghtrader.application.trading.service import TradingRuns
from ghtrader.application.trading.target import TargetPosExecutor
from ghtrader.domain.anomaly import AnomalyConfig
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.instruments import ContractSpec
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig
from ghtrader.interfaces.grpc.jobs import JobControl, JobSpec
from ghtrader.interfaces.grpc.scheduled_update import (
    DAILY_TRAIN_REQUEST_TYPE,
    UPDATE_REQUEST_TYPE,
    JobDailyTrainJobs,
    JobUpdateJobs,
    describe_decisions,
)
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.accounts import AccountUseCases, accounts_service
from ghtrader.interfaces.grpc.servicers.alerts import AlertServicer, AlertUseCases, alerts_service
from ghtrader.interfaces.grpc.servicers.data import DataServicer, DataUseCases, data_service
from ghtrader.interfaces.grpc.servicers.datasets import DatasetServicer, DatasetUseCases, dataset_service
from ghtrader.interfaces.grpc.servicers.ensembles import ensembles_service
from ghtrader.interfaces.grpc.servicers.experiments import experiments_service
from ghtrader.interfaces.grpc.servicers.explain import ExplainServicer, explain_service
from ghtrader.interfaces.grpc.servicers.features import FeatureServicer, FeatureUseCases, feature_service
from ghtrader.interfaces.grpc.servicers.hpo import HpoServicer, HpoUseCases, hpo_service
from ghtrader.interfaces.grpc.servicers.jobs import jobs_service
from ghtrader.interfaces.grpc.servicers.pipeline import PipelineServicer, pipeline_service
from ghtrader.interfaces.grpc.servicers.query import query_service
from ghtrader.interfaces.grpc.servicers.regimes import RegimeServicer, RegimeUseCases, regime_service
from ghtrader.interfaces.grpc.servicers.reports import reports_service
from ghtrader.interfaces.grpc.servicers.research import ResearchServicer, ResearchUseCases, research_service
from ghtrader.interfaces.grpc.servicers.scheduler import SchedulerUseCases, scheduler_service
from ghtrader.interfaces.grpc.servicers.system import system_service
from ghtrader.interfaces.grpc.servicers.tca import TcaUseCases, tca_service
from ghtrader.interfaces.grpc.servicers.trading import trading_service
from ghtrader.settings import JOB_SETTINGS_ENV, BrokerAccount, Settings, load_broker_accounts, settings_to_json

_BEIJING = timezone(timedelta(hours=8))


def _postgres_stores(settings: Settings) -> Iterator[StoreBundle]:
    from ghtrader.adapters.postgres import open_postgres_stores

    url = settings.postgres_url.get_secret_value() if settings.postgres_url else None
    bundle, close = open_postgres_stores(url=url, data_dir=settings.data_dir / "postgres")
    try:
        yield bundle
    finally:
        close()


def _questdb_stores(settings: Settings) -> Iterator[StoreBundle]:
    from ghtrader.adapters.questdb import QuestDBParams, open_questdb_stores

    bundle, close = open_questdb_stores(
        QuestDBParams(
            host=settings.questdb_host,
            http_port=settings.questdb_http_port,
            pg_port=settings.questdb_pg_port,
            user=settings.questdb_user,
            password=settings.questdb_password.get_secret_value(),
            database=settings.questdb_database,
        )
    )
    try:
        yield bundle
    finally:
        close()


def _postgres_query(bundle: StoreBundle) -> Iterator[ReadOnlyQuery]:
    """Read-only SQL on the store's server: as the reader role on the embedded server (ghTrader
    manages its roles), with the store's login and read-only session guards on an external one."""
    from ghtrader.adapters.postgres import PostgresStoreBundle
    from ghtrader.adapters.postgres.query import READER_ROLE, PostgresReadOnlyQuery

    if not isinstance(bundle, PostgresStoreBundle):
        raise FailedPrecondition("GHTRADER_STORE=postgres but the open stores are not PostgreSQL")
    query = PostgresReadOnlyQuery(bundle.url, reader_role=READER_ROLE if bundle.embedded is not None else None)
    try:
        yield query
    finally:
        query.close()


def _questdb_query(settings: Settings) -> ReadOnlyQuery:
    from ghtrader.adapters.questdb import QuestDBParams
    from ghtrader.adapters.questdb.query import QuestDBReadOnlyQuery

    own = bool(settings.questdb_query_user)  # QuestDB's read-only user, when configured
    return QuestDBReadOnlyQuery(
        QuestDBParams(
            host=settings.questdb_host,
            http_port=settings.questdb_http_port,
            pg_port=settings.questdb_pg_port,
            user=settings.questdb_query_user if own else settings.questdb_user,
            password=(settings.questdb_query_password if own else settings.questdb_password).get_secret_value(),
            database=settings.questdb_database,
        )
    )


def _beijing_today(clock: Clock) -> date:
    return datetime.fromtimestamp(clock.now_ns() / 1e9, tz=_BEIJING).date()


def _calendar_source(settings: Settings) -> CachedHolidayCalendarSource:
    return CachedHolidayCalendarSource(
        settings.data_dir / "calendar" / "holidays.json",
        text_fetcher(settings.holiday_url) if settings.holiday_url else None,
        logging.getLogger("ghtrader.calendar"),
    )


def _synthetic_market(settings: Settings, calendar: TradingCalendar) -> SyntheticMarket:
    config = SyntheticMarketConfig(
        seed=settings.synthetic_seed,
        anchor_date=settings.synthetic_anchor_date,
        signal_strength=settings.synthetic_signal_strength,
        tick_interval_ms=settings.synthetic_tick_interval_ms,
    )
    return SyntheticMarket(config, calendar)


def _oracle(settings: Settings, market: providers.Provider) -> SyntheticOracleSource | None:
    """The generator's own signal, only when ticks come from the synthetic market."""
    return SyntheticOracleSource(market()) if settings.provider == "synthetic" else None


def _report_writer(root: Path, folder: str = "benchmarks", stamp: Callable[[], dict[str, Any]] | None = None) -> Any:
    from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter  # matplotlib loads when a report is made

    return MatplotlibBenchmarkReportWriter(root, folder, stamp=stamp)


def _inference_runtime() -> InferenceRuntime:
    from ghtrader.adapters.onnx import OnnxInferenceRuntime  # onnxruntime loads when a model is served

    return OnnxInferenceRuntime(intra_op_threads=1)


def _ensemble_config_store(bundle: StoreBundle) -> EnsembleConfigStore:
    """PostgreSQL when the stores are; otherwise in process memory (a QuestDB backend keeps no
    ensemble configs across processes)."""
    from ghtrader.adapters.postgres import PostgresStoreBundle

    if isinstance(bundle, PostgresStoreBundle):
        from ghtrader.adapters.postgres.ensemble_store import PostgresEnsembleConfigStore

        return PostgresEnsembleConfigStore(bundle.pool)
    from ghtrader.adapters.memory.ensemble_configs import InMemoryEnsembleConfigStore

    return InMemoryEnsembleConfigStore()


def _regime_model_store(settings: Settings) -> RegimeModelStore:
    """The stored regime models (regime-conditional ensembles read them)."""
    from ghtrader.adapters.filesystem.regime_models import FilesystemRegimeModelStore

    return FilesystemRegimeModelStore(settings.artifacts_dir / "regimes")


def _ensemble_graph() -> EnsembleGraphWriter:
    from ghtrader.adapters.onnx import OnnxEnsembleGraphWriter

    return OnnxEnsembleGraphWriter()


def _model_families(
    ensemble_configs: Callable[[], EnsembleConfigStore] | None = None, registered: RegisteredMembers | None = None
) -> FamilyRegistry:
    # the ML runtimes load only when models are needed (a download job never imports them)
    from ghtrader.adapters.lightgbm import LightGBMFamily
    from ghtrader.adapters.linear import LogisticFamily
    from ghtrader.adapters.onnx import OnnxCalibrationGraphWriter, OnnxEnsembleGraphWriter
    from ghtrader.adapters.torch import deep_families
    from ghtrader.adapters.xgboost import XGBoostFamily

    families: list[ModelFamily] = [LogisticFamily(), LightGBMFamily(), XGBoostFamily()]

    # Every family is calibrated on the tail of its training fold, so benchmark, compare, train
    # and serving all see calibrated probabilities.
    graph = OnnxCalibrationGraphWriter()
    registry = FamilyRegistry(CalibratedFamily(f, graph) for f in [*families, *deep_families().values()])
    # ensembles combine members of this registry trained inside the same fold (calibrated too);
    # "ensemble-<id>[@v]" names a stored configuration (read when first asked for)
    registry.register(CalibratedFamily(EnsembleFamily(registry, OnnxEnsembleGraphWriter()), graph))
    if ensemble_configs is not None:
        registry.resolve = StoredEnsembles(ensemble_configs, registry, OnnxEnsembleGraphWriter(), graph, registered)
    return registry


def _attributors() -> dict[str, Attributor]:
    """Family name -> the attributor that explains its models (explain; loaded on first use)."""
    from ghtrader.adapters.lightgbm.explain import LightGBMTreeShap
    from ghtrader.adapters.linear.explain import LinearAttributions
    from ghtrader.adapters.torch.explain import TorchIntegratedGradients
    from ghtrader.adapters.torch.models import ARCHITECTURES
    from ghtrader.adapters.xgboost.explain import XGBoostTreeShap

    ig = TorchIntegratedGradients()
    trees: dict[str, Attributor] = {
        "lightgbm": LightGBMTreeShap(), "xgboost": XGBoostTreeShap(), "logistic": LinearAttributions(),
    }  # fmt: skip
    return trees | {name: ig for name in ARCHITECTURES}


def _attention_probe() -> AttentionProbe:
    """Reads the attention maps of the transformer-family models (explain; loaded on first use)."""
    from ghtrader.adapters.torch.attention import TorchAttentionMaps

    return TorchAttentionMaps()


def _tqsdk_config(settings: Settings) -> TqSdkConfig:
    return TqSdkConfig(user=settings.tqsdk_user, password=settings.tqsdk_password)


class _NoLiveFeed:
    """LiveFeed for providers without a live stream: a clear refusal instead of silence."""

    def __init__(self, provider: str) -> None:
        self._provider = provider

    def run(self, symbols: Sequence[str], on_ticks: TickCallback, should_stop: Callable[[], bool]) -> None:
        raise FailedPrecondition(
            f"live recording needs GHTRADER_PROVIDER=synthetic or tqsdk (the {self._provider} provider has no live feed)"
        )


# One typed accessor per port of the store bundle: the type checker proves each one exists.
class _LiveSessions:
    """Hands the TqApi a live run's executor opened to that run's feed (one TqApi serves both).
    ``StartTradingRun`` builds the executor, then the feed, in the same thread: per thread, so
    runs starting together never swap sessions."""

    def __init__(self) -> None:
        self._local = threading.local()

    def put(self, shared: SharedTqApi) -> None:
        self._local.shared = shared

    def take(self) -> SharedTqApi | None:
        shared, self._local.shared = getattr(self._local, "shared", None), None
        return shared


def _broker_accounts(settings: Settings) -> tuple[BrokerAccount, ...]:
    try:
        return load_broker_accounts(settings)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


class _SettingsBrokerProfiles:
    """BrokerProfiles from settings and ``runs/control/accounts.env`` (masked ids only)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def list(self) -> list[BrokerProfile]:
        return [
            BrokerProfile(a.profile, a.broker_id, a.masked_account_id, bool(a.password.get_secret_value()))
            for a in _broker_accounts(self._settings)
        ]


def _account_spec(settings: Settings, profile: str) -> TqAccountSpec:
    """The TqAccount of a broker profile (the trading gateway: TqSdk's own lookup, or TQ_TD_URL)."""
    wanted = profile or "default"
    for a in _broker_accounts(settings):
        if a.profile == wanted:
            return TqAccountSpec("account", a.broker_id, a.account_id, a.password)
    raise NotFound(f"no broker profile {wanted!r}: set TQ_BROKER_ID / TQ_ACCOUNT_ID (see env.example)")


def _trading_feed_factory(
    settings: Settings, market: providers.Provider, calendar: providers.Provider, clock: Clock, live: _LiveSessions
) -> Callable[[int, float], object]:
    """Live feeds for trading runs: the synthetic market (optionally replayed from a chosen time at
    a chosen pace) or TqSdk's live quotes (now only). A live run's feed is TqSdk's, on the TqApi
    its account executor opened."""

    def make(replay_from_ns: int, speedup: float) -> object:
        shared = live.take()
        if shared is not None and shared.held:  # released: its run failed before reaching its feed
            if replay_from_ns or speedup:
                raise InvalidArgument("replay_from and speedup apply to the synthetic provider only")
            return TqSdkLiveFeed(shared.config, session_factory=shared.attach)
        if settings.provider == "synthetic":
            pace = speedup or settings.synthetic_live_speedup
            feed_clock = ReplayClock(clock, replay_from_ns, pace) if replay_from_ns else clock
            return SyntheticLiveFeed(market(), calendar(), feed_clock, speedup=pace)
        if replay_from_ns or speedup:
            raise InvalidArgument("replay_from and speedup apply to the synthetic provider only")
        if settings.provider == "tqsdk":
            return TqSdkLiveFeed(_tqsdk_config(settings))
        raise FailedPrecondition(f"trading needs a live feed: the {settings.provider} provider has none")

    return make


def _execution_factory(calendar: CalendarSource, settings: Settings, live: _LiveSessions) -> ExecutionFactory:
    """Order venues for trading runs: sim mode gets the micro-simulator's simulated account
    (venue local), TqSdk's TqSim or TqKq (venue tqsim / tqkq); live (past the gate) the profile's
    TqAccount. A TqSdk account's TqApi is then shared with the run's feed. Executor direct: one
    order per change; target: a target-position task (the runner's TargetPosExecutor on the local
    account, TqSdk's TargetPosTask on a TqSdk one). Monitor-only gets a read-only direct executor:
    the runner never submits there."""

    def make(request: TradingRunRequest, spec: ContractSpec) -> object:
        live.take()  # a session left by a run whose preflight failed before its feed
        price = "ACTIVE" if request.aggressive else "PASSIVE"
        target = request.executor == "target" and request.order_enabled
        max_order = risk_limits(request.risk_limits).max_order_size if target else 0  # each order within the limit
        if request.mode == "sim" and request.venue == "local":
            venue = SimulatedExecutionProvider(
                initial_cash=request.initial_balance, queue_model="prob_log", calendar=calendar.load()
            )
            return TargetPosExecutor(venue, price=price, max_order=max_order) if target else venue
        if request.mode == "sim" and request.venue in ("tqsim", "tqkq"):
            account = (
                TqAccountSpec("sim", init_balance=request.initial_balance)
                if request.venue == "tqsim"
                else TqAccountSpec("kq")  # the gateway: TqSdk's own lookup, or TQ_TD_URL
            )
            shared = SharedTqApi(_tqsdk_config(settings), account)
        elif request.mode == "live":
            shared = SharedTqApi(_tqsdk_config(settings), _account_spec(settings, request.account))
        else:
            raise FailedPrecondition(f"{request.mode} executor not available")
        # logs in now: a refused login fails the preflight; monitor-only cannot send anything
        executor: object
        if target:
            executor = TqSdkTargetPosExecution(shared, price=price, max_order=max_order)
        else:
            executor = TqSdkDirectExecution(shared, read_only=request.monitor_only)
        live.put(shared)
        return executor

    return make


def _has_credentials(settings: Settings) -> Callable[[str], bool]:
    def check(profile: str) -> bool:
        try:
            accounts = load_broker_accounts(settings)
        except ValueError:
            return False
        wanted = profile or "default"
        return any(a.profile == wanted and a.account_id.get_secret_value() for a in accounts)

    return check


def _trading_runs(
    start: StartTradingRun, store: FilesystemTradingRunStore, clock: Clock, jobs: SqliteJobStore
) -> Iterator[TradingRuns]:
    locks = AccountLocks(jobs, clock, start.shared_account, os.getpid())  # trade:account=<ACCOUNT>
    runs = TradingRuns(start, store, clock, locks)
    try:
        yield runs
    finally:
        runs.shutdown()


def _store_probe(bundle: StoreBundle) -> StoreProbe:
    return bundle.probe


def _ticks_store(bundle: StoreBundle) -> TickStore:
    return bundle.ticks


def _index_store(bundle: StoreBundle) -> IndexStore:
    return bundle.index


def _schema_manager(bundle: StoreBundle) -> SchemaManager:
    return bundle.schema


def _schedule_store(bundle: StoreBundle) -> ScheduleStore:
    return bundle.schedules


def _dataset_store(bundle: StoreBundle) -> DatasetStore:
    return bundle.datasets


def _model_registry(bundle: StoreBundle) -> ModelRegistry:
    return bundle.models


def _anomaly_store(bundle: StoreBundle) -> AnomalyStore:
    """ghtrader_anomaly_events_v2 on the PostgreSQL store's pool (alerts need that backend)."""
    from ghtrader.adapters.postgres import PostgresStoreBundle
    from ghtrader.adapters.postgres.anomaly_store import PostgresAnomalyStore

    if not isinstance(bundle, PostgresStoreBundle):
        raise FailedPrecondition("alerts are stored in PostgreSQL: set GHTRADER_STORE=postgres")
    return PostgresAnomalyStore(bundle.pool)


def _anomaly_config(settings: Settings) -> AnomalyConfig:
    try:
        return AnomalyConfig.from_mapping(json.loads(settings.anomaly_thresholds or "{}"))
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"GHTRADER_ANOMALY_THRESHOLDS: {exc}") from None


def _regime_use_cases(
    settings: Settings, stores: providers.Provider, ticks: providers.Provider, clock: providers.Provider
) -> RegimeUseCases:
    """Regime fit / decode / list; the fitting libraries and the state table open on first use."""
    from ghtrader.adapters.changepoints import RupturesPeltSegmenter
    from ghtrader.adapters.clustering import SklearnWindowClusterer
    from ghtrader.adapters.filesystem.regime_models import FilesystemRegimeModelStore
    from ghtrader.adapters.hmm import HmmlearnRegimeFitter
    from ghtrader.application.regimes import DecodeRegimes, FitRegimeModel, ListRegimes

    models = FilesystemRegimeModelStore(settings.artifacts_dir / "regimes")
    opened: list[Any] = []

    def states() -> Any:
        if not opened:
            from ghtrader.adapters.memory import InMemoryStoreBundle
            from ghtrader.adapters.memory.regime_store import InMemoryRegimeStateStore
            from ghtrader.adapters.postgres import PostgresStoreBundle
            from ghtrader.adapters.postgres.regime_store import PostgresRegimeStateStore

            bundle = stores()
            if isinstance(bundle, InMemoryStoreBundle):  # tests and in-process tools
                store: Any = InMemoryRegimeStateStore()
            elif isinstance(bundle, PostgresStoreBundle):
                store = PostgresRegimeStateStore(bundle.pool)
            else:
                raise FailedPrecondition("regime states live in PostgreSQL: run with GHTRADER_STORE=postgres")
            store.ensure_schema()
            opened.append(store)
        return opened[0]

    return RegimeUseCases(
        fit=lambda: FitRegimeModel(ticks=ticks(), fitter=HmmlearnRegimeFitter(), models=models, clock=clock()),
        decode=lambda: DecodeRegimes(
            ticks=ticks(),
            models=models,
            states=states(),
            segmenter=RupturesPeltSegmenter(),
            clock=clock(),
            clusterer=SklearnWindowClusterer(),
        ),
        overview=lambda: ListRegimes(models=models, states=states()),
    )


def _hmm_grouping() -> Any:
    """HMM regimes as a benchmark / backtest grouping (by_hmm_regime; see application/regimes/grouping.py)."""
    from ghtrader.adapters.hmm import HmmlearnRegimeFitter
    from ghtrader.application.regimes.grouping import HmmGrouping

    return HmmGrouping(HmmlearnRegimeFitter(), n_states=3, n_iter=20, max_fit_rows=20_000)


# --- hyper-parameter optimisation and fan-out work --------------------------------------------
def _fanout_executor(settings: Settings) -> FanoutExecutor:
    """Ray when GHTRADER_RAY_ADDRESS is set, else spawned worker processes of this machine."""
    if settings.ray_address:
        from ghtrader.adapters.ray import RayFanoutExecutor  # ray loads only when a cluster is configured

        return RayFanoutExecutor(settings.ray_address)
    from ghtrader.adapters.local_fanout import LocalFanoutExecutor

    # shared inputs (an HPO study's frame) go to a per-run directory under runs/fanout, removed at its end
    return LocalFanoutExecutor(settings.fanout_workers or None, share_dir=str(settings.runs_dir / "fanout"))


def _hpo_storage_url(settings: Settings, bundle: StoreBundle) -> str:
    """Optuna's storage: the project's PostgreSQL, or a SQLite file under runs/control for QuestDB."""
    from ghtrader.adapters.postgres import PostgresStoreBundle

    if isinstance(bundle, PostgresStoreBundle):
        return bundle.url
    path = settings.runs_dir / "control" / "hpo.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def _hpo_studies(settings: Settings, bundle: StoreBundle) -> HpoStudies:
    from ghtrader.adapters.optuna import OptunaStudies  # optuna loads when a study is opened

    return OptunaStudies(_hpo_storage_url(settings, bundle))


def _hpo_spaces() -> SpaceCatalog:
    from ghtrader.adapters.optuna import YamlSpaceCatalog

    return YamlSpaceCatalog()


def _hpo_trials(bundle: StoreBundle) -> HpoTrialStore:
    from ghtrader.adapters.postgres import PostgresStoreBundle

    if isinstance(bundle, PostgresStoreBundle):
        from ghtrader.adapters.postgres.hpo_store import PostgresHpoTrialStore

        return PostgresHpoTrialStore(bundle.pool)
    from ghtrader.adapters.memory.hpo_trials import InMemoryHpoTrialStore

    return InMemoryHpoTrialStore()  # QuestDB store: the Optuna study (SQLite) is the record


def _job_worker_command(job_id: int) -> list[str]:
    return [sys.executable, "-m", "ghtrader.job_worker", str(job_id)]


def _job_env(settings: Settings) -> dict[str, str]:
    """A job process's environment: the server's, plus the server's own settings."""
    return {**os.environ, JOB_SETTINGS_ENV: settings_to_json(settings), "PYTHONUNBUFFERED": "1"}


def _result_settings(settings: Settings) -> dict[str, object]:
    """The settings that shape a job's results, for its run manifest (never a secret)."""
    shaping: dict[str, object] = {"provider": settings.provider, "store": settings.store}
    if settings.provider == "synthetic":
        shaping.update(
            synthetic_seed=settings.synthetic_seed,
            synthetic_signal_strength=settings.synthetic_signal_strength,
            synthetic_tick_interval_ms=settings.synthetic_tick_interval_ms,
            synthetic_anchor_date=settings.synthetic_anchor_date.isoformat(),
        )
    elif settings.provider == "csv":
        shaping["csv_dir"] = str(settings.csv_dir)
    return shaping


def _experiment_store(settings: Settings, bundle: StoreBundle) -> Iterator[ExperimentStore]:
    """Experiments live in PostgreSQL: the store's own pool, or (ticks on QuestDB) the configured
    PostgreSQL, else the embedded one under data_dir/postgres."""
    from ghtrader.adapters.postgres import EmbeddedPostgres, PostgresStoreBundle
    from ghtrader.adapters.postgres.connections import open_pool
    from ghtrader.adapters.postgres.experiment_store import PostgresExperimentStore

    if isinstance(bundle, PostgresStoreBundle):
        yield PostgresExperimentStore(bundle.pool)
        return
    server = None if settings.postgres_url else EmbeddedPostgres(settings.data_dir / "postgres")
    url = settings.postgres_url.get_secret_value() if settings.postgres_url else server.start()  # type: ignore[union-attr]
    pool = open_pool(url, max_size=2)
    try:
        yield PostgresExperimentStore(pool)
    finally:
        pool.close()
        if server is not None:
            server.stop()


def _experiment_exporter(settings: Settings) -> ExperimentExporter | None:
    """The MLflow mirror when GHTRADER_MLFLOW_TRACKING_URI is set (mlflow loads only then)."""
    if settings.mlflow_tracking_uri is None:
        return None
    from ghtrader.adapters.mlflow import MlflowExperimentExporter

    return MlflowExperimentExporter(settings.mlflow_tracking_uri.get_secret_value())


def _tca_store(bundle: StoreBundle) -> Any:
    """TCA tables on the PostgreSQL store; in memory (kept for the server's life) on another backend."""
    from ghtrader.adapters.postgres import PostgresStoreBundle

    if isinstance(bundle, PostgresStoreBundle):
        from ghtrader.adapters.postgres.tca_store import PostgresTcaStore

        return PostgresTcaStore(bundle.pool)
    from ghtrader.adapters.memory.tca_store import InMemoryTcaStore

    return InMemoryTcaStore()


def _tca_writer_for(settings: Settings) -> Callable[[str], Any]:
    """A report writer into a trading run's ``tca/`` folder."""
    return lambda run_id: _report_writer(settings.runs_dir / "trading" / run_id, "tca", stamp=_code_stamp)


def _code_stamp() -> dict[str, object]:
    """What every report records about the code that wrote it."""
    v = code_version()
    return {"git_commit": v.commit, "git_dirty": v.dirty}


def _job_catalog(*servicers: Any) -> dict[str, JobSpec]:
    """Request type name -> job spec, built from the servicers (what a job process runs)."""
    return {spec.type_name: spec for servicer in servicers for spec in servicer.job_specs()}


def _server_scheduler(
    settings: Settings,
    calendar_source: CachedHolidayCalendarSource,
    control: JobControl,
    catalog: dict[str, JobSpec],
    clock: Clock,
) -> Iterator[ServerScheduler]:
    """The server's scheduler (``ghtrader serve`` starts it; see application/daily_update.py)."""
    db = settings.runs_dir / "control" / "schedules.db"
    sched = ServerScheduler(db, misfire_grace_s=settings.schedule_misfire_grace_s)
    targets = parse_targets(settings.daily_update_targets)
    if targets:
        daily = ScheduleDailyUpdates(
            targets, calendar_source.load(), JobUpdateJobs(control, catalog[UPDATE_REQUEST_TYPE]),
            SqliteUpdateLedger(db), settings.daily_update_recent_expired_days,
        )  # fmt: skip
        sched.add_cron(
            "daily_update", settings.daily_update_cron, "daily update of " + ", ".join(t.key for t in targets),
            lambda: describe_decisions(daily(clock.now_ns())),
        )  # fmt: skip
    symbols = parse_train_symbols(settings.daily_train_symbols)
    if symbols:
        train = ScheduleDailyTrain(
            symbols, calendar_source.load(),
            JobDailyTrainJobs(control, catalog[DAILY_TRAIN_REQUEST_TYPE], settings.daily_train_family),
            SqliteUpdateLedger(db),
        )  # fmt: skip
        sched.add_cron(
            "daily_train", settings.daily_train_cron, "daily-train of " + ", ".join(symbols),
            lambda: describe_decisions(train(clock.now_ns())),
        )  # fmt: skip
    sched.start()
    try:
        yield sched
    finally:
        sched.shutdown()


def _scheduler_use_cases(settings: Settings, scheduler: providers.Provider) -> SchedulerUseCases:
    """The running scheduler once ``serve`` started it; a stopped view otherwise (``--local``),
    built on first use; the claim ledger opened once."""
    db = settings.runs_dir / "control" / "schedules.db"
    idle: list[ServerScheduler] = []
    ledger: list[SqliteUpdateLedger] = []

    def current() -> ServerScheduler:
        if getattr(scheduler, "initialized", False):
            return scheduler()  # type: ignore[no-any-return]
        if not idle:
            idle.append(ServerScheduler(db, misfire_grace_s=settings.schedule_misfire_grace_s))
        return idle[0]

    def claims(n: int) -> list[LedgerEntry]:
        if not ledger:
            ledger.append(SqliteUpdateLedger(db))
        return ledger[0].entries(n)

    targets = tuple(t.key for t in parse_targets(settings.daily_update_targets))
    return SchedulerUseCases(current, claims, targets)


def _server_options(settings: Settings, host: str | None, port: int | None) -> ServerOptions:
    return ServerOptions(
        host=settings.grpc_host if host is None else host,
        port=settings.grpc_port if port is None else port,
        token=settings.api_token.get_secret_value() if settings.api_token else None,
        max_workers=settings.grpc_max_workers,
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    host_probe = providers.Singleton(
        PsutilHostProbe,
        paths=providers.Callable(lambda s: [s.data_dir, s.runs_dir, s.artifacts_dir], settings),
    )

    stores = providers.Selector(
        providers.Callable(lambda s: s.store, settings),
        postgres=providers.Resource(_postgres_stores, settings),
        questdb=providers.Resource(_questdb_stores, settings),
    )
    store_probe = providers.Callable(_store_probe, stores)

    ticks_store = providers.Callable(_ticks_store, stores)
    index_store = providers.Callable(_index_store, stores)
    schema_manager = providers.Callable(_schema_manager, stores)
    schedule_store = providers.Callable(_schedule_store, stores)
    dataset_store = providers.Callable(_dataset_store, stores)

    calendar_source = providers.Singleton(_calendar_source, settings)
    calendar = providers.Singleton(lambda source: source.load(), calendar_source)
    reports = providers.Singleton(
        JsonFileReportSink, providers.Callable(lambda s: s.runs_dir, settings), stamp=providers.Object(_code_stamp)
    )

    synthetic_market = providers.Singleton(_synthetic_market, settings, calendar)

    data_provider = providers.Selector(
        providers.Callable(lambda s: s.provider, settings),
        synthetic=providers.Singleton(
            SyntheticDataProvider,
            synthetic_market,
            calendar,
            today=providers.Callable(lambda c: lambda: _beijing_today(c), clock),
        ),
        csv=providers.Singleton(
            CsvDataProvider,
            providers.Callable(lambda s: s.csv_dir, settings),
            calendar,
            today=providers.Callable(lambda c: lambda: _beijing_today(c), clock),
        ),
        tqsdk=providers.Singleton(
            TqSdkDataProvider,
            providers.Callable(_tqsdk_config, settings),
            calendar,
            providers.Callable(lambda s: s.data_dir / "tqsdk_downloads", settings),
            clock=clock,
        ),
    )
    live_feed = providers.Selector(
        providers.Callable(lambda s: s.provider, settings),
        synthetic=providers.Singleton(
            SyntheticLiveFeed,
            synthetic_market,
            calendar,
            clock,
            speedup=providers.Callable(lambda s: s.synthetic_live_speedup, settings),
        ),
        csv=providers.Singleton(_NoLiveFeed, "csv"),
        tqsdk=providers.Singleton(TqSdkLiveFeed, providers.Callable(_tqsdk_config, settings)),
    )

    free_space = providers.Singleton(
        FreeSpaceGuard,
        space=providers.Singleton(PsutilStorageSpace, providers.Callable(lambda s: s.data_dir, settings)),
        min_free_bytes=providers.Callable(lambda s: int(s.min_free_gb * 2**30), settings),
    )
    download_ticks = providers.Singleton(
        DownloadTicks,
        provider=data_provider,
        ticks=ticks_store,
        index=index_store,
        calendar=calendar_source,
        clock=clock,
        reports=reports,
        free_space=free_space,
    )
    download_contract_range = providers.Singleton(
        DownloadContractRange,
        download=download_ticks,
        provider=data_provider,
        calendar=calendar_source,
        clock=clock,
        reports=reports,
    )
    update_contracts = providers.Singleton(
        UpdateContracts,
        download=download_ticks,
        provider=data_provider,
        index=index_store,
        calendar=calendar_source,
        clock=clock,
        reports=reports,
    )
    record_ticks = providers.Singleton(
        RecordTicks,
        feed=live_feed,
        ticks=ticks_store,
        index=index_store,
        calendar=calendar_source,
        clock=clock,
    )
    verify_coverage = providers.Singleton(
        VerifyCoverage,
        provider=data_provider,
        index=index_store,
        calendar=calendar_source,
        clock=clock,
        reports=reports,
    )
    fill_missing = providers.Singleton(
        FillMissing,
        download=download_ticks,
        verify=verify_coverage,
        provider=data_provider,
        ticks=ticks_store,
        index=index_store,
        calendar=calendar_source,
        clock=clock,
        reports=reports,
    )
    bootstrap_index = providers.Singleton(
        BootstrapIndex,
        ticks=ticks_store,
        index=index_store,
        clock=clock,
        reports=reports,
    )
    contract_status = providers.Singleton(
        ContractStatus,
        provider=data_provider,
        index=index_store,
        calendar=calendar_source,
        clock=clock,
    )
    audit_store = providers.Singleton(
        AuditStore,
        ticks=ticks_store,
        index=index_store,
        schema=schema_manager,
        clock=clock,
        calendar=calendar_source,
        reports=reports,
    )
    data_use_cases = providers.Factory(
        DataUseCases,
        download=download_ticks.provider,
        download_contract_range=download_contract_range.provider,
        update=update_contracts.provider,
        record=record_ticks.provider,
        verify=verify_coverage.provider,
        fill_missing=fill_missing.provider,
        bootstrap_index=bootstrap_index.provider,
        audit=audit_store.provider,
        contract_status=contract_status.provider,
    )

    build_main_schedule = providers.Singleton(
        BuildMainSchedule,
        ticks=ticks_store,
        index=index_store,
        schedules=schedule_store,
        calendar=calendar_source,
        clock=clock,
        provider=data_provider,
        reports=reports,
        charts=providers.Singleton(
            _report_writer,
            providers.Callable(lambda s: s.runs_dir, settings),
            "main_schedule",
            stamp=providers.Object(_code_stamp),
        ),
    )
    build_main_l5 = providers.Singleton(
        BuildMainL5,
        ticks=ticks_store,
        index=index_store,
        schedules=schedule_store,
        datasets=dataset_store,
        clock=clock,
        reports=reports,
    )
    build_dataset = providers.Singleton(
        BuildDataset,
        ticks=ticks_store,
        index=index_store,
        datasets=dataset_store,
        clock=clock,
        reports=reports,
        free_space=free_space,
    )
    dataset_use_cases = providers.Factory(
        DatasetUseCases,
        build_main_schedule=build_main_schedule.provider,
        build_main_l5=build_main_l5.provider,
        build_dataset=build_dataset.provider,
    )

    inference_runtime = providers.Singleton(_inference_runtime)
    artifact_store = providers.Singleton(
        FilesystemArtifactStore, providers.Callable(lambda s: s.artifacts_dir / "models", settings)
    )
    model_registry = providers.Callable(_model_registry, stores)
    ensemble_config_store = providers.Singleton(_ensemble_config_store, stores)
    # registered-version ensemble members read the registry / artifacts / runtime when first used
    registered_members = providers.Singleton(
        RegisteredMembers,
        model_registry.provider,
        artifact_store.provider,
        inference_runtime.provider,
        providers.Singleton(_regime_model_store, settings).provider,
    )
    model_families = providers.Singleton(_model_families, ensemble_config_store.provider, registered_members)
    ensemble_configs = providers.Singleton(
        EnsembleConfigs,
        ensemble_config_store,
        model_families,
        providers.Singleton(_ensemble_graph),
        clock,
        registered_members,
    )
    oracle_source = providers.Singleton(_oracle, settings, synthetic_market.provider)
    frame_source = providers.Singleton(
        GeneratedFrameSource,  # generated features (gen__...) computed from their stored parents
        providers.Singleton(StoreFrameSource, datasets=dataset_store, ticks=ticks_store, oracle=oracle_source),
    )
    benchmark_writer = providers.Singleton(
        _report_writer,
        providers.Callable(lambda s: s.runs_dir, settings),
        stamp=providers.Object(_code_stamp),
    )
    train_model = providers.Singleton(
        TrainModel,
        model_families,
        frame_source,
        artifact_store,
        model_registry,
        clock,
        runtime=inference_runtime,
        code_version=providers.Callable(lambda: code_version().commit),
        code_dirty=providers.Callable(lambda: code_version().dirty),
    )
    hmm_grouping = providers.Singleton(_hmm_grouping)
    run_benchmark = providers.Singleton(
        RunBenchmark,
        families=model_families,
        frames=frame_source,
        runtime=inference_runtime,
        writer=benchmark_writer,
        clock=clock,
        calendar=calendar_source,
        regimes=hmm_grouping,
    )
    compare_models = providers.Singleton(CompareModels, benchmark=run_benchmark, writer=benchmark_writer)
    run_backtest = providers.Singleton(
        RunBacktest,
        registry=model_registry,
        artifacts=artifact_store,
        runtime=inference_runtime,
        ticks=ticks_store,
        families=model_families,
        calendar=calendar_source,
        writer=benchmark_writer,
        clock=clock,
        regimes=hmm_grouping,
    )
    model_promotion = providers.Factory(ModelPromotion, registry=model_registry, clock=clock)
    run_sweep = providers.Singleton(RunSweep, families=model_families, compare=compare_models)
    daily_train = providers.Factory(
        DailyTrain,
        update=update_contracts,
        build_schedule=build_main_schedule,
        build_main_l5=build_main_l5,
        build_dataset=build_dataset,
        train=train_model,
        backtest=run_backtest,
        promotion=model_promotion,
        frames=frame_source,
        artifacts=artifact_store,
        runtime=inference_runtime,
        families=model_families,
        calendar=calendar_source,
        clock=clock,
        reports=reports,
    )
    # explain (attributions, permutation importance, error analysis) and feature selection
    attributors = providers.Singleton(_attributors)
    feature_set_store = providers.Singleton(
        JsonFeatureSetStore, providers.Callable(lambda s: s.runs_dir / "feature_sets", settings)
    )
    select_features = providers.Singleton(
        SelectFeatures,
        frames=frame_source,
        families=model_families,
        attributors=attributors,
        store=feature_set_store,
        clock=clock,
        datasets=dataset_store,
    )
    feature_use_cases = providers.Factory(
        FeatureUseCases, select=select_features.provider, store=feature_set_store.provider
    )
    explain_model = providers.Singleton(
        ExplainModel,
        registry=model_registry,
        artifacts=artifact_store,
        families=model_families,
        runtime=inference_runtime,
        frames=frame_source,
        attributors=attributors,
        attention=providers.Singleton(_attention_probe),
        clock=clock,
        calendar=calendar_source,
        writer=providers.Singleton(
            _report_writer,
            providers.Callable(lambda s: s.runs_dir, settings),
            "explain",
            stamp=providers.Object(_code_stamp),
        ),
    )
    run_hpo = providers.Singleton(
        RunHpo,
        benchmark=run_benchmark,
        families=model_families,
        studies=providers.Singleton(_hpo_studies, settings, stores),
        spaces=providers.Singleton(_hpo_spaces),
        trials=providers.Singleton(_hpo_trials, stores),
        executor=providers.Singleton(_fanout_executor, settings),
        clock=clock,
        runtime=inference_runtime,
        calendar=calendar_source,
        writer=providers.Singleton(
            _report_writer,
            providers.Callable(lambda s: s.runs_dir, settings),
            "hpo",
            stamp=providers.Object(_code_stamp),
        ),
    )
    hpo_use_cases = providers.Factory(HpoUseCases, run=run_hpo.provider)
    research_use_cases = providers.Factory(
        ResearchUseCases,
        train=train_model.provider,
        benchmark=run_benchmark.provider,
        compare=compare_models.provider,
        registry=model_registry.provider,
        clock=clock.provider,
        backtest=run_backtest.provider,
        promotion=model_promotion.provider,
        daily_train=daily_train.provider,
        sweep=run_sweep.provider,
        model_card=providers.Singleton(
            GetModelCard, registry=model_registry, artifacts=artifact_store, file_size=providers.Object(file_size)
        ).provider,
        feature_sets=feature_set_store.provider,
    )

    run_pipeline = providers.Singleton(
        RunPipeline,
        download=download_ticks,
        verify=verify_coverage,
        audit=audit_store,
        build_schedule=build_main_schedule,
        build_main_l5=build_main_l5,
        build_dataset=build_dataset,
        compare=compare_models,
        train=train_model,
        backtest=run_backtest,
        promotion=model_promotion,
        provider=data_provider,
        ticks=ticks_store,
        calendar=calendar_source,
        clock=clock,
    )

    live_sessions = providers.Singleton(_LiveSessions)
    trading_run_store = providers.Singleton(
        FilesystemTradingRunStore, providers.Callable(lambda s: s.runs_dir / "trading", settings)
    )
    anomaly_store = providers.Singleton(_anomaly_store, stores)  # ghtrader_anomaly_events_v2 (docs/alerts.md)
    anomaly_config = providers.Singleton(_anomaly_config, settings)
    start_trading_run = providers.Singleton(
        StartTradingRun,
        registry=model_registry,
        artifacts=artifact_store,
        runtime=inference_runtime,
        ticks=ticks_store,
        schedules=schedule_store,
        calendar=calendar_source,
        store=trading_run_store,
        clock=clock,
        feed_factory=providers.Callable(
            _trading_feed_factory, settings, synthetic_market.provider, calendar.provider, clock, live_sessions
        ),
        execution_factory=providers.Callable(_execution_factory, calendar_source, settings, live_sessions),
        risk_factory=providers.Callable(risk_engine_factory, calendar_source),
        live_enabled=providers.Callable(lambda s: s.live_enabled, settings),
        has_credentials=providers.Callable(_has_credentials, settings),
        datasets=dataset_store,
        families=model_families,
        alerts=anomaly_config,  # the run's anomaly monitor (trading/alerts.py)
        alert_store=anomaly_store.provider,
        regime_models=providers.Callable(lambda s: FilesystemRegimeModelStore(s.artifacts_dir / "regimes"), settings),
        frames=frame_source,  # the model's training features: runtime feature / prior drift (online_drift.py)
    )
    job_store = providers.Singleton(
        SqliteJobStore, providers.Callable(lambda s: s.runs_dir / "control" / "jobs.db", settings)
    )
    trading_runs = providers.Resource(_trading_runs, start_trading_run, trading_run_store, clock, job_store)
    tca_store = providers.Singleton(_tca_store, stores)
    tca_use_cases = providers.Singleton(
        TcaUseCases,
        analyze=providers.Singleton(
            AnalyzeTca,
            runs=trading_run_store,
            ticks=ticks_store,
            store=tca_store,
            calendar=calendar_source,
            writer_for=providers.Callable(_tca_writer_for, settings),
            clock=clock,
            backtests=run_backtest,
            backtest_writer=providers.Singleton(
                _report_writer,
                providers.Callable(lambda s: s.runs_dir, settings),
                "tca",
                stamp=providers.Object(_code_stamp),
            ),
        ),
        pretrade=providers.Singleton(PreTradeTca, ticks=ticks_store, store=tca_store),
    )
    run_equity_curve = providers.Singleton(
        GetEquityCurve,
        providers.Singleton(FilesystemRunSnapshots, providers.Callable(lambda s: s.runs_dir / "trading", settings)),
    )

    broker_profiles = providers.Singleton(_SettingsBrokerProfiles, settings)
    account_cache = providers.Singleton(
        FilesystemAccountCache, providers.Callable(lambda s: s.runs_dir / "control" / "cache" / "accounts", settings)
    )
    account_probe = providers.Singleton(
        TqSdkAccountProbe,
        providers.Callable(_tqsdk_config, settings),
        providers.Callable(lambda s: lambda profile: _account_spec(s, profile), settings),
    )
    account_use_cases = providers.Singleton(
        AccountUseCases,
        list_accounts=providers.Singleton(ListAccounts, broker_profiles, account_cache),
        verify_account=providers.Singleton(VerifyAccount, broker_profiles, account_probe, account_cache, clock),
    )

    read_only_query = providers.Selector(
        providers.Callable(lambda s: s.store, settings),
        postgres=providers.Resource(_postgres_query, stores),
        questdb=providers.Singleton(_questdb_query, settings),
    )
    run_query = providers.Singleton(RunQuery, read_only_query, clock)

    get_system_status = providers.Singleton(
        GetSystemStatus,
        clock=clock,
        host_probe=host_probe,
        store_probe=store_probe,
        version=ghtrader.__version__,
        git_commit=providers.Callable(git_commit),
        provider=providers.Callable(lambda s: s.provider, settings),
    )

    # /system's folder sizes: walked in a background thread, cached 5 min, 10 s budget per folder.
    get_directory_sizes = providers.Singleton(
        GetDirectorySizes,
        paths=providers.Callable(lambda s: [str(s.data_dir), str(s.runs_dir), str(s.artifacts_dir)], settings),
        sizer=providers.Singleton(ScandirDirectorySizer),
        clock=clock,
    )

    get_pipeline_readiness = providers.Singleton(
        GetPipelineReadiness, probe=store_probe, index=index_store, schedules=schedule_store
    )

    run_manifests = providers.Singleton(
        JsonRunManifestStore, providers.Callable(lambda s: s.runs_dir / "control" / "manifests", settings)
    )
    run_recorder = providers.Singleton(
        RunRecorder, run_manifests, providers.Callable(code_version), providers.Callable(_result_settings, settings)
    )
    experiment_store = providers.Resource(_experiment_store, settings, stores)
    experiment_recorder = providers.Singleton(
        ExperimentRecorder,
        experiment_store,
        clock,
        providers.Callable(code_version),
        project=providers.Callable(lambda s: s.experiment_project, settings),
        exporter=providers.Singleton(_experiment_exporter, settings),
    )
    experiments = providers.Singleton(Experiments, experiment_store, experiment_recorder)
    run_hpo.add_kwargs(experiments=experiment_recorder)  # trials are experiments (defined above the recorder)
    job_control = providers.Singleton(
        JobControl,
        store=job_store,
        clock=clock,
        worker_command=providers.Object(_job_worker_command),
        env=providers.Callable(_job_env, settings),
        prepare=stores.provider,  # the server owns the store (e.g. starts the embedded database), not a job
        cancel_grace_s=providers.Callable(lambda s: s.job_cancel_grace_s, settings),
        code_version=providers.Callable(code_version),
        recorder=run_recorder,
        experiments=experiment_recorder.provider,  # opened when a research job ends in the server
    )
    # alerts (docs/alerts.md): the tick scan job, list / watch
    alert_use_cases = providers.Factory(
        AlertUseCases,
        scan=providers.Singleton(
            ScanAnomalies,
            ticks=ticks_store,
            calendar=calendar_source,
            store=anomaly_store.provider,
            clock=clock,
            config=anomaly_config,
            runs=trading_run_store,
        ).provider,
        list=providers.Singleton(ListAnomalies, anomaly_store.provider).provider,
        drift=providers.Singleton(
            ScanModelDrift,
            registry=model_registry,
            artifacts=artifact_store,
            runtime=inference_runtime,
            frames=frame_source,
            store=anomaly_store.provider,
            clock=clock,
            config=anomaly_config,
        ).provider,  # fmt: skip
    )
    regime_use_cases = providers.Singleton(
        _regime_use_cases, settings, stores.provider, ticks_store.provider, clock.provider
    )
    job_catalog = providers.Callable(
        _job_catalog,
        providers.Callable(DataServicer, data_use_cases),
        providers.Callable(DatasetServicer, dataset_use_cases),
        providers.Callable(ResearchServicer, research_use_cases),
        providers.Callable(PipelineServicer, run_pipeline.provider),
        providers.Callable(AlertServicer, alert_use_cases),
        providers.Callable(RegimeServicer, regime_use_cases),
        providers.Callable(ExplainServicer, explain_model.provider),
        providers.Callable(FeatureServicer, feature_use_cases),
        providers.Callable(HpoServicer, hpo_use_cases),
    )

    server_scheduler = providers.Resource(
        _server_scheduler, settings, calendar_source, job_control, job_catalog, clock
    )  # started by `ghtrader serve` only

    grpc_services = providers.List(
        providers.Callable(system_service, get_system_status, get_directory_sizes, get_pipeline_readiness),
        providers.Callable(data_service, data_use_cases, job_control),
        providers.Callable(dataset_service, dataset_use_cases, job_control),
        providers.Callable(research_service, research_use_cases, job_control),
        providers.Callable(regime_service, regime_use_cases, job_control),
        providers.Callable(hpo_service, hpo_use_cases, job_control),
        providers.Callable(pipeline_service, run_pipeline.provider, job_control),
        providers.Callable(explain_service, explain_model.provider, job_control),
        providers.Callable(feature_service, feature_use_cases, job_control),
        providers.Callable(jobs_service, job_control, job_catalog, run_manifests),
        providers.Callable(trading_service, trading_runs.provider, run_equity_curve.provider),
        providers.Callable(tca_service, tca_use_cases.provider),
        providers.Callable(accounts_service, account_use_cases),
        providers.Callable(query_service, run_query.provider),
        providers.Callable(ensembles_service, ensemble_configs.provider),
        providers.Callable(experiments_service, experiments.provider),
        providers.Callable(alerts_service, alert_use_cases, job_control),
        providers.Callable(
            reports_service,
            providers.Singleton(FilesystemReportFigures, providers.Callable(lambda s: s.runs_dir, settings)),
        ),
        providers.Callable(
            scheduler_service, providers.Callable(_scheduler_use_cases, settings, server_scheduler.provider)
        ),
    )
    grpc_server = providers.Factory(
        lambda settings, services, host=None, port=None: GrpcServer(_server_options(settings, host, port), services),
        settings,
        grpc_services,
    )
