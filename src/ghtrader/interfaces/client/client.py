"""GhTraderClient: one method per RPC, typed views back, clear errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc

from ghtrader.interfaces.client.alerts import AlertsMixin
from ghtrader.interfaces.client.views import (
    ContractStatusView,
    DiskView,
    ProgressView,
    RunResultView,
    StatusView,
    VarietyStatusView,
)
from ghtrader.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    data_pb2,
    data_pb2_grpc,
    datasets_pb2,
    datasets_pb2_grpc,
    ensembles_pb2,
    ensembles_pb2_grpc,
    experiments_pb2,
    experiments_pb2_grpc,
    explain_pb2,
    explain_pb2_grpc,
    features_pb2,
    features_pb2_grpc,
    hpo_pb2,
    hpo_pb2_grpc,
    jobs_pb2,
    jobs_pb2_grpc,
    pipeline_pb2,
    pipeline_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
    regimes_pb2,
    regimes_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
    research_pb2,
    research_pb2_grpc,
    runs_pb2,
    scheduler_pb2,
    scheduler_pb2_grpc,
    system_pb2,
    system_pb2_grpc,
    tca_pb2,
    tca_pb2_grpc,
    trading_pb2,
    trading_pb2_grpc,
)

ProgressHandler = Callable[[ProgressView], None]

# Request metadata the server reads when it registers a job (see interfaces/grpc/jobs.py).
SOURCE_HEADER = "x-ghtrader-source"  # terminal | dashboard | scheduler | api
NO_WAIT_HEADER = "x-ghtrader-no-wait"  # "1": fail at once when a lock is taken


def _ignore(_: ProgressView) -> None:
    return None


def _given(**fields: Any) -> dict[str, Any]:
    """Only the fields the caller gave: None leaves a proto3 ``optional`` field unset, so the
    server applies its default, while an explicit 0 is sent (and means 0)."""
    return {k: v for k, v in fields.items() if v is not None}


T = TypeVar("T")


def _feature_set_dict(s: features_pb2.FeatureSetMessage) -> dict[str, Any]:
    return {
        "name": s.name,
        "features": list(s.features),
        "created_at_ns": s.created_at_ns,
        "symbol": s.symbol,
        "horizon": s.horizon,
    }


class ServerUnavailableError(ConnectionError):
    """No ghTrader server answers at the target."""

    def __init__(self, target: str, detail: str) -> None:
        super().__init__(
            f"no ghTrader server at {target} ({detail}). Start one with `ghtrader serve` "
            "(or `make serve`), or run the command in-process with `ghtrader --local ...`."
        )
        self.target = target


class JobSubmitted(Exception):
    """A long-running call of a client that does not wait: its job was submitted and runs on."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} submitted")
        self.job_id = job_id


class ApiError(RuntimeError):
    """The server answered with an error status; ``code`` is the gRPC status name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _model_dict(m: research_pb2.ModelEntry) -> dict[str, Any]:
    return {
        "model_id": m.model_id,
        "version": m.version,
        "model_type": m.model_type,
        "status": m.status,
        "artifact_path": m.artifact_path,
        "config_hash": m.config_hash,
        "metrics": json.loads(m.metrics_json or "{}"),
        "created_at_ns": m.created_at_ns,
    }


def _maybe(message: Any, name: str) -> float | None:
    return getattr(message, name) if message.HasField(name) else None


def decision_dict(d: research_pb2.GateDecision) -> dict[str, Any]:
    """A GateDecision message as a dict (unset values None)."""
    return {
        "decision": d.decision,
        "summary": d.summary,
        "checks": [
            {
                "name": c.name,
                "kind": c.kind,
                "value": _maybe(c, "value"),
                "incumbent": _maybe(c, "incumbent"),
                "threshold": _maybe(c, "threshold"),
                "passed": c.passed,
                "reason": c.reason,
            }
            for c in d.checks
        ],
    }


def change_dict(c: research_pb2.StatusChangeEntry) -> dict[str, Any]:
    """A StatusChangeEntry message as a dict (decision parsed)."""
    return {
        "model_id": c.model_id,
        "version": c.version,
        "from_status": c.from_status,
        "to_status": c.to_status,
        "reason": c.reason,
        "actor": c.actor,
        "at_ns": c.at_ns,
        "decision": json.loads(c.decision_json or "{}"),
    }


class GhTraderClient(AlertsMixin):
    """Synchronous client. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        timeout_s: float = 30.0,
        source: str = "api",
        no_wait: bool = False,
        detach: bool = False,
    ) -> None:
        """``source`` (terminal, dashboard, scheduler, api) is recorded on the jobs this client
        starts; ``no_wait`` makes its jobs fail at once when a lock they need is taken; ``detach``: a
        long-running call returns as soon as its job is submitted, raising :class:`JobSubmitted`
        with the job's id (the job runs on; follow it with the JobsService)."""
        self._detach = detach
        self.target = target
        self._timeout_s = timeout_s
        metadata: list[tuple[str, str]] = [("authorization", f"Bearer {token}")] if token else []
        metadata.append((SOURCE_HEADER, source))
        if no_wait:
            metadata.append((NO_WAIT_HEADER, "1"))
        self._metadata = tuple(metadata)
        self._channel = grpc.insecure_channel(target)
        self._system = system_pb2_grpc.SystemServiceStub(self._channel)
        self._data = data_pb2_grpc.DataServiceStub(self._channel)
        self._pipeline = pipeline_pb2_grpc.PipelineServiceStub(self._channel)
        self._datasets = datasets_pb2_grpc.DatasetServiceStub(self._channel)
        self._research = research_pb2_grpc.ResearchServiceStub(self._channel)
        self._hpo = hpo_pb2_grpc.HpoServiceStub(self._channel)
        self._trading = trading_pb2_grpc.TradingServiceStub(self._channel)
        self._accounts = accounts_pb2_grpc.AccountServiceStub(self._channel)
        self._scheduler = scheduler_pb2_grpc.SchedulerServiceStub(self._channel)
        self._reports = reports_pb2_grpc.ReportServiceStub(self._channel)
        self._query = query_pb2_grpc.QueryServiceStub(self._channel)
        self._jobs = jobs_pb2_grpc.JobsServiceStub(self._channel)
        self._ensembles = ensembles_pb2_grpc.EnsembleServiceStub(self._channel)
        self._experiments = experiments_pb2_grpc.ExperimentServiceStub(self._channel)
        self._tca = tca_pb2_grpc.TcaServiceStub(self._channel)
        self._explain = explain_pb2_grpc.ExplainServiceStub(self._channel)
        self._features = features_pb2_grpc.FeatureServiceStub(self._channel)

    def __enter__(self) -> GhTraderClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _translate(self, exc: grpc.RpcError) -> Exception:
        code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
        details = (exc.details() if hasattr(exc, "details") else str(exc)) or ""
        if code == grpc.StatusCode.UNAVAILABLE and "connect" in details.lower():
            return ServerUnavailableError(self.target, details)
        return ApiError(code.name, details)

    def _call(self, fn: Callable[..., T], request: object, timeout_s: float | None = None) -> T:
        try:
            return fn(request, timeout=timeout_s or self._timeout_s, metadata=self._metadata)
        except grpc.RpcError as exc:
            raise self._translate(exc) from None

    def _run(
        self, fn: Callable[..., Iterable[runs_pb2.RunEvent]], request: object, on_progress: ProgressHandler
    ) -> RunResultView:
        """Consume a RunEvent stream: progress to ``on_progress``, return the final result (or,
        detached, raise :class:`JobSubmitted` once the stream names its job)."""
        try:
            # Long runs have no deadline: they stream progress and the caller may cancel.
            call = fn(request, metadata=self._metadata)
            for event in call:
                if event.HasField("progress"):
                    p = event.progress
                    if self._detach and p.job_id:
                        call.cancel()  # the job does not depend on this call
                        raise JobSubmitted(int(p.job_id))
                    on_progress(ProgressView(p.done, p.total, p.message, p.percent))
                elif event.HasField("result"):
                    r = event.result
                    kind = r.WhichOneof("typed") or ""
                    return RunResultView(
                        r.ok,
                        r.summary,
                        r.report_path,
                        json.loads(r.result_json or "{}"),
                        job_id=r.job_id,
                        typed=getattr(r, kind) if kind else None,
                        typed_kind=kind,
                    )
        except grpc.RpcError as exc:
            raise self._translate(exc) from None
        raise ApiError("INTERNAL", "the server closed the stream without a result")

    # --- main job -------------------------------------------------------------------
    def run_pipeline(
        self,
        *,
        varieties: Sequence[str] = (),
        trading_days: int | None = None,
        contracts_per_variety: int | None = None,
        end_day: str = "",
        skip_research: bool = False,
        on_progress: ProgressHandler = _ignore,
        start_day: str = "",
    ) -> RunResultView:
        req = pipeline_pb2.RunPipelineRequest(
            varieties=list(varieties),
            trading_days=trading_days,
            contracts_per_variety=contracts_per_variety,
            end_day=end_day,
            skip_research=skip_research,
            start_day=start_day,
        )
        return self._run(self._pipeline.RunPipeline, req, on_progress)

    # --- research ---------------------------------------------------------------------
    @staticmethod
    def scope(
        symbol: str = "",
        start_day: str = "",
        end_day: str = "",
        horizon: int | None = None,
        features: Sequence[str] = (),
        max_epochs: int | None = None,
        window: int | None = None,
        max_train_rows: int | None = None,
        seed: int = 0,
    ) -> research_pb2.ResearchScope:
        """What a research call works on; empty strings and None take the server's defaults."""
        return research_pb2.ResearchScope(
            symbol=symbol,
            start_day=start_day,
            end_day=end_day,
            features=list(features),
            seed=seed,
            **_given(horizon=horizon, max_epochs=max_epochs, window=window, max_train_rows=max_train_rows),
        )

    def train(
        self,
        family: str,
        scope: research_pb2.ResearchScope,
        *,
        model_id: str = "",
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        return self._run(
            self._research.Train, research_pb2.TrainRequest(family=family, scope=scope, model_id=model_id), on_progress
        )

    def benchmark(
        self,
        family: str,
        scope: research_pb2.ResearchScope,
        *,
        n_splits: int | None = None,
        commission_bp: float | None = None,
        slippage_ticks: float | None = None,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = research_pb2.BenchmarkRequest(
            family=family,
            scope=scope,
            **_given(n_splits=n_splits, commission_bp=commission_bp, slippage_ticks=slippage_ticks),
        )
        return self._run(self._research.Benchmark, req, on_progress)

    def backtest(
        self,
        model_id: str,
        *,
        start_day: str,
        end_day: str,
        version: str = "",
        symbol: str = "",
        commission_bp: float | None = None,
        slippage_ticks: float | None = None,
        queue_model: str = "",
        execution: str = "",
        entry_latency_ms: float | None = None,
        cancel_latency_ms: float | None = None,
        feed_latency_ms: float | None = None,
        policy_fit_days: int | None = None,
        hold_rows: int | None = None,
        seed: int = 0,
        versus_execution: str = "",
        flat_s: float | None = None,
        versus_queue_model: str = "",
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        """Backtest a registered model through the micro-simulator (the result is the JSON report);
        a ``versus_*`` setting adds a counterfactual replay of the same targets and an A/B table."""
        req = research_pb2.BacktestRequest(
            model_id=model_id,
            version=version,
            symbol=symbol,
            start_day=start_day,
            end_day=end_day,
            queue_model=queue_model,
            execution=execution,
            seed=seed,
            versus_execution=versus_execution,
            versus_queue_model=versus_queue_model,
            **_given(
                commission_bp=commission_bp,
                slippage_ticks=slippage_ticks,
                entry_latency_ms=entry_latency_ms,
                cancel_latency_ms=cancel_latency_ms,
                feed_latency_ms=feed_latency_ms,
                policy_fit_days=policy_fit_days,
                hold_rows=hold_rows,
                flat_s=flat_s,
            ),
        )
        return self._run(self._research.Backtest, req, on_progress)

    def explain(
        self,
        model_id: str,
        *,
        day: str,
        end_day: str = "",
        version: str = "",
        tick_ts_ns: int | None = None,
        method: str = "",
        max_rows: int | None = None,
        steps: int | None = None,
        permutation_repeats: int | None = None,
        permutation_rows: int | None = None,
        top_k: int | None = None,
        seed: int = 0,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        """Explain a registered model over ``day..end_day`` (attributions, permutation importance,
        one tick's waterfall, error by group); the result is the JSON report."""
        req = explain_pb2.ExplainRequest(
            model_id=model_id,
            version=version,
            day=day,
            end_day=end_day,
            method=method,
            seed=seed,
            **_given(
                tick_ts_ns=tick_ts_ns,
                max_rows=max_rows,
                steps=steps,
                permutation_repeats=permutation_repeats,
                permutation_rows=permutation_rows,
                top_k=top_k,
            ),
        )
        return self._run(self._explain.Explain, req, on_progress)

    def select_features(
        self,
        name: str,
        *,
        start_day: str,
        end_day: str,
        symbol: str = "",
        horizon: int | None = None,
        candidates: Sequence[str] = (),
        generate: bool = False,
        max_pairs: int | None = None,
        min_mi: float | None = None,
        max_corr: float | None = None,
        family: str = "",
        n_splits: int | None = None,
        min_features: int | None = None,
        rfe_drop: float | None = None,
        max_rows: int | None = None,
        params: Mapping[str, Any] | None = None,
        seed: int = 0,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        """Select a feature set and store it as ``name`` (the result is the selection record);
        ``params``: the family's hyper-parameters for the elimination fits."""
        req = features_pb2.SelectFeaturesRequest(
            name=name,
            symbol=symbol,
            start_day=start_day,
            end_day=end_day,
            candidates=list(candidates),
            generate=generate,
            family=family,
            seed=seed,
            params_json=json.dumps(dict(params)) if params else "",
            **_given(
                horizon=horizon,
                max_pairs=max_pairs,
                min_mi=min_mi,
                max_corr=max_corr,
                n_splits=n_splits,
                min_features=min_features,
                rfe_drop=rfe_drop,
                max_rows=max_rows,
            ),
        )
        return self._run(self._features.SelectFeatures, req, on_progress)

    def feature_sets(self) -> list[dict[str, Any]]:
        """Stored feature sets: name, features, created_at_ns, symbol, horizon."""
        r = self._call(self._features.ListFeatureSets, features_pb2.ListFeatureSetsRequest())
        return [_feature_set_dict(s) for s in r.sets]

    def feature_set(self, name: str) -> dict[str, Any]:
        """One stored feature set with its selection record (``selection``)."""
        s = self._call(self._features.GetFeatureSet, features_pb2.GetFeatureSetRequest(name=name))
        return _feature_set_dict(s) | {"selection": json.loads(s.selection_json or "{}")}

    def compare(
        self,
        families: Sequence[str],
        scope: research_pb2.ResearchScope,
        *,
        n_splits: int | None = None,
        commission_bp: float | None = None,
        slippage_ticks: float | None = None,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = research_pb2.CompareRequest(
            families=list(families),
            scope=scope,
            **_given(n_splits=n_splits, commission_bp=commission_bp, slippage_ticks=slippage_ticks),
        )
        return self._run(self._research.Compare, req, on_progress)

    def list_models(self, *, model_type: str = "", status: str = "") -> list[dict[str, Any]]:
        r = self._call(self._research.ListModels, research_pb2.ListModelsRequest(model_type=model_type, status=status))
        return [_model_dict(m) for m in r.models]

    def set_model_status(
        self, model_id: str, version: str, status: str, *, reason: str = "", actor: str = "cli"
    ) -> dict[str, Any]:
        m = self._call(
            self._research.SetModelStatus,
            research_pb2.SetModelStatusRequest(
                model_id=model_id, version=version, status=status, reason=reason, actor=actor
            ),
        )
        return _model_dict(m)

    def promote_model(
        self,
        model_id: str,
        version: str,
        *,
        reason: str = "",
        force: bool = False,
        thresholds: Mapping[str, float | None] | None = None,
        disabled: Sequence[str] = (),
        actor: str = "cli",
    ) -> dict[str, Any]:
        """Promote through the gate; ``thresholds`` name GateThresholds fields (None = default)."""
        given = {k: v for k, v in (thresholds or {}).items() if v is not None}
        r = self._call(
            self._research.PromoteModel,
            research_pb2.PromoteModelRequest(
                model_id=model_id,
                version=version,
                reason=reason,
                force=force,
                actor=actor,
                thresholds=research_pb2.GateThresholds(disabled=list(disabled), **given),
            ),
        )
        return {
            "promoted": r.promoted,
            "forced": r.forced,
            "decision": decision_dict(r.decision),
            "previous_production": r.previous_production,
            "metrics_source": r.metrics_source,
            "entry": _model_dict(r.entry),
            "changes": [change_dict(c) for c in r.changes],
        }

    def daily_train(
        self,
        scope: research_pb2.ResearchScope,
        *,
        family: str = "",
        model_id: str = "",
        trading_days: int | None = None,
        test_days: int | None = None,
        no_refresh: bool = False,
        no_build: bool = False,
        thresholds: Mapping[str, float | None] | None = None,
        disabled: Sequence[str] = (),
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        given = {k: v for k, v in (thresholds or {}).items() if v is not None}
        req = research_pb2.DailyTrainRequest(
            scope=scope,
            family=family,
            model_id=model_id,
            no_refresh=no_refresh,
            no_build=no_build,
            thresholds=research_pb2.GateThresholds(disabled=list(disabled), **given),
            **_given(trading_days=trading_days, test_days=test_days),
        )
        return self._run(self._research.DailyTrain, req, on_progress)

    def sweep(
        self,
        family: str,
        scope: research_pb2.ResearchScope,
        grid: Mapping[str, Sequence[str]],
        *,
        mode: str = "",
        samples: int | None = None,
        n_splits: int | None = None,
        commission_bp: float | None = None,
        slippage_ticks: float | None = None,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = research_pb2.SweepRequest(
            family=family,
            scope=scope,
            params=[research_pb2.SweepParam(name=k, values=[str(v) for v in vs]) for k, vs in grid.items()],
            mode=mode,
            **_given(samples=samples, n_splits=n_splits, commission_bp=commission_bp, slippage_ticks=slippage_ticks),
        )
        return self._run(self._research.Sweep, req, on_progress)

    # --- regimes (RegimeService) ---------------------------------------------------------
    def fit_regimes(
        self,
        symbol: str,
        start_day: str,
        end_day: str,
        *,
        states: int | None = None,
        seeds: Sequence[int] = (),
        n_iter: int | None = None,
        features: Sequence[str] = (),
        window: int | None = None,
        model_id: str = "",
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = regimes_pb2.FitRegimesRequest(
            symbol=symbol,
            start_day=start_day,
            end_day=end_day,
            seeds=list(seeds),
            features=list(features),
            model_id=model_id,
            **_given(states=states, n_iter=n_iter, window=window),
        )
        return self._run(regimes_pb2_grpc.RegimeServiceStub(self._channel).FitRegimes, req, on_progress)

    def decode_regimes(
        self,
        symbol: str,
        start_day: str,
        end_day: str,
        *,
        method: str = "",
        model_id: str = "",
        feature: str = "",
        stride: int | None = None,
        expected_run: float | None = None,
        penalty: float | None = None,
        buckets: int | None = None,
        window: int | None = None,
        clusters: int | None = None,
        bootstraps: int | None = None,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = regimes_pb2.DecodeRegimesRequest(
            symbol=symbol,
            start_day=start_day,
            end_day=end_day,
            method=method,
            model_id=model_id,
            feature=feature,
            **_given(
                stride=stride,
                expected_run=expected_run,
                penalty=penalty,
                buckets=buckets,
                window=window,
                clusters=clusters,
                bootstraps=bootstraps,
            ),  # fmt: skip
        )
        return self._run(regimes_pb2_grpc.RegimeServiceStub(self._channel).DecodeRegimes, req, on_progress)

    def list_regimes(self, symbol: str = "") -> dict[str, Any]:
        """Saved regime models (with their states) and stored regime-state series."""
        stub = regimes_pb2_grpc.RegimeServiceStub(self._channel)
        r = self._call(stub.ListRegimes, regimes_pb2.ListRegimesRequest(symbol=symbol))
        models = [
            {
                **{k: v for k, v in _fields(m).items() if k not in ("states", "fit_json")},
                "fit": json.loads(m.fit_json or "{}"),
                "states": [
                    {
                        "regime_id": s.regime_id,
                        "occupancy": s.occupancy,
                        "expected_dwell_ticks": s.expected_dwell_ticks,
                        "means": dict(s.means),
                    }
                    for s in m.states
                ],
            }
            for m in r.models
        ]
        series = [
            {
                **{k: v for k, v in _fields(x).items() if k != "counts"},
                "counts": {int(k): int(v) for k, v in x.counts.items()},
            }
            for x in r.series
        ]
        return {"models": models, "series": series}

    def hpo(
        self,
        family: str,
        scope: research_pb2.ResearchScope,
        *,
        n_trials: int | None = None,
        timeout_s: float | None = None,
        objectives: Sequence[str] = (),
        study: str = "",
        sampler: str = "",
        pruner: str = "",
        space_yaml: str = "",
        parallel: int | None = None,
        no_defaults: bool = False,
        cpus_per_trial: float | None = None,
        gpus_per_trial: float | None = None,
        n_splits: int | None = None,
        commission_bp: float | None = None,
        slippage_ticks: float | None = None,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        """Run (or resume) an HPO study of ``family``; the result's typed field is an HpoResult."""
        req = hpo_pb2.RunHpoRequest(
            family=family,
            scope=scope,
            objectives=list(objectives),
            study=study,
            sampler=sampler,
            pruner=pruner,
            space_yaml=space_yaml,
            no_defaults=no_defaults,
            **_given(
                n_trials=n_trials,
                timeout_s=timeout_s,
                parallel=parallel,
                cpus_per_trial=cpus_per_trial,
                gpus_per_trial=gpus_per_trial,
                n_splits=n_splits,
                commission_bp=commission_bp,
                slippage_ticks=slippage_ticks,
            ),
        )
        return self._run(self._hpo.RunHpo, req, on_progress)

    def hpo_study(self, study: str) -> dict[str, Any]:
        """A stored HPO study: its trials and best (or Pareto front), as plain data."""
        r = self._call(self._hpo.GetHpoStudy, hpo_pb2.GetHpoStudyRequest(study=study))

        def trial(t: Any) -> dict[str, Any]:
            return {
                "number": t.number,
                "state": t.state,
                "params": json.loads(t.params_json or "{}"),
                "values": list(t.values),
                "worker": t.worker,
                "duration_s": t.duration_s if t.HasField("duration_s") else None,
                "baseline": t.baseline,
                "error": t.error,
                "created_at_ns": t.created_at_ns,
                "experiment_id": t.experiment_id,
            }

        return {
            "study": r.study,
            "family": r.family,
            "objectives": list(r.objectives),
            "directions": list(r.directions),
            "trials": [trial(t) for t in r.trials],
            "best": [trial(t) for t in r.best],
        }

    def rollback_model(self, model_id: str, to_version: str, *, reason: str = "", actor: str = "cli") -> dict[str, Any]:
        r = self._call(
            self._research.RollbackModel,
            research_pb2.RollbackModelRequest(model_id=model_id, to_version=to_version, reason=reason, actor=actor),
        )
        return {"entry": _model_dict(r.entry), "changes": [change_dict(c) for c in r.changes]}

    def model_card(self, model_id: str, version: str = "") -> dict[str, Any]:
        """A model's card (version "" = production, else the newest); NOT_FOUND when unknown."""
        r = self._call(
            self._research.GetModelCard, research_pb2.GetModelCardRequest(model_id=model_id, version=version)
        )
        out = {f.name: getattr(r, f.name) for f in r.DESCRIPTOR.fields if f.name not in ("entry", "history")}
        out["entry"] = _model_dict(r.entry)
        out["history"] = [change_dict(c) for c in r.history]
        out["features"] = list(r.features)
        out["calibration"] = json.loads(r.calibration_json or "{}")
        out["onnx_bytes"] = r.onnx_bytes if r.HasField("onnx_bytes") else None
        return out

    def model_history(self, model_id: str) -> list[dict[str, Any]]:
        r = self._call(self._research.GetModelHistory, research_pb2.GetModelHistoryRequest(model_id=model_id))
        return [change_dict(c) for c in r.changes]

    # --- trading ----------------------------------------------------------------------
    def start_trading_run(
        self,
        mode: str,
        model_id: str,
        *,
        symbol: str = "",
        version: str = "",
        max_ticks: int = 0,
        monitor_only: bool = False,
        confirm_live: str = "",
        account: str = "",
        end_time: str = "",
        replay_from: str = "",
        risk_limits: dict[str, float] | None = None,
        speedup: float | None = None,
        policy_fit_days: int | None = None,
        hold_rows: int | None = None,
        flat_s: float | None = None,
        commission_bp: float | None = None,
        order_kind: str = "",
        passive: bool = False,
        snapshot_every_s: float | None = None,
        online_calibration: bool | None = None,
        executor: str = "",
        venue: str = "",
        sizing: str = "",
        max_lots: int | None = None,
        target_vol: float | None = None,
        risk_horizon_s: float | None = None,
        shadow_model: str = "",
        shadow_version: str = "",
        canary_model: str = "",
        canary_version: str = "",
        canary_share: float | None = None,
        canary_seed: int | None = None,
        canary_fallback_blocks: int | None = None,
        canary_fallback_margin: float | None = None,
        fallback_model: str = "",
        fallback_version: str = "",
        drift_fallback_after: int | None = None,
        anomaly_config: dict[str, Any] | None = None,
        regime_model: str = "",
        regime_scales: dict[str, float] | None = None,
        regime_max_lots: dict[str, int] | None = None,
        regime_stress_scales: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        """Start a paper / sim / live run; returns ``{"run_id", "config"}`` (the run goes on in the server)."""
        req = trading_pb2.StartRunRequest(
            mode=mode, model_id=model_id, symbol=symbol, version=version, max_ticks=max_ticks,
            monitor_only=monitor_only, confirm_live=confirm_live, account=account, end_time=end_time,
            replay_from=replay_from, risk_limits=risk_limits or {}, order_kind=order_kind, passive=passive,
            executor=executor, venue=venue, sizing=sizing, shadow_model=shadow_model, shadow_version=shadow_version,
            canary_model=canary_model, canary_version=canary_version,
            fallback_model=fallback_model, fallback_version=fallback_version,
            anomaly_config_json=json.dumps(anomaly_config) if anomaly_config else "",
            **_given(drift_fallback_after=drift_fallback_after), regime_model=regime_model,
            regime_scales=regime_scales or {}, regime_max_lots=regime_max_lots or {},
            regime_stress_scales=regime_stress_scales or {},
            **_given(canary_share=canary_share, canary_seed=canary_seed, canary_fallback_blocks=canary_fallback_blocks,
                     canary_fallback_margin=canary_fallback_margin,
                     speedup=speedup, policy_fit_days=policy_fit_days, hold_rows=hold_rows, flat_s=flat_s,
                     commission_bp=commission_bp, snapshot_every_s=snapshot_every_s,
                     online_calibration=online_calibration, max_lots=max_lots, target_vol=target_vol,
                     risk_horizon_s=risk_horizon_s),
        )  # fmt: skip
        r = self._call(self._trading.StartRun, req, timeout_s=max(self._timeout_s, 300.0))
        return {"run_id": r.run_id, "config": json.loads(r.config_json or "{}")}

    def list_trading_runs(self, mode: str = "") -> list[dict[str, Any]]:
        r = self._call(self._trading.ListRuns, trading_pb2.ListRunsRequest(mode=mode))
        return [
            {
                "run_id": x.run_id,
                "mode": x.mode,
                "monitor_only": x.monitor_only,
                "model_id": x.model_id,
                "symbol": x.symbol,
                "status": x.status,
                "ticks": x.ticks,
                "account_type": x.account_type,
                "executor": x.executor,
            }  # fmt: skip
            for x in r.runs
        ]

    def trading_run_status(self, run_id: str) -> dict[str, Any]:
        """The run's state.json (plus ``alive`` and its ``config``)."""
        r = self._call(self._trading.GetRunStatus, trading_pb2.GetRunStatusRequest(run_id=run_id))
        state = json.loads(r.state_json or "{}")
        state.update(alive=r.alive, config=json.loads(r.config_json or "{}"))
        return state

    def tail_trading_events(self, run_id: str, *, limit: int | None = None, kind: str = "") -> list[dict[str, Any]]:
        req = trading_pb2.TailRunEventsRequest(run_id=run_id, kind=kind, **_given(limit=limit))
        r = self._call(self._trading.TailRunEvents, req)
        return [json.loads(e.payload_json) for e in r.events]

    def trading_run_equity(self, run_id: str, *, max_points: int | None = None) -> dict[str, Any]:
        """A run's equity / PnL curve (<= 2,000 points; each bucket's low and high kept)."""
        req = trading_pb2.GetRunEquityRequest(run_id=run_id, **_given(max_points=max_points))
        r = self._call(self._trading.GetRunEquity, req)
        return {
            "run_id": r.run_id,
            "time_ns": list(r.time_ns),
            "equity": list(r.equity),
            "pnl": list(r.pnl),
            "balance": list(r.balance),
            "snapshots": r.snapshots,
            "max_drawdown": r.max_drawdown,
        }

    def trading_command(self, run_id: str, command: str, reason: str = "") -> dict[str, Any]:
        """Send an operator command: cancel_all, flatten, halt, resume, reset_kill, stop or resume_model."""
        rpc = {
            "cancel_all": self._trading.CancelAllOrders, "flatten": self._trading.FlattenPositions,
            "halt": self._trading.HaltRun, "resume": self._trading.ResumeRun,
            "reset_kill": self._trading.ResetKillSwitch, "stop": self._trading.StopRun,
            "resume_model": self._trading.ResumeModel,
        }.get(command)  # fmt: skip
        if rpc is None:
            raise ValueError(f"unknown trading command {command!r}")
        r = self._call(rpc, trading_pb2.RunCommandRequest(run_id=run_id, reason=reason))
        return {"run_id": r.run_id, "command": r.command, "queued": r.queued, "running": r.running}

    # --- datasets ---------------------------------------------------------------------
    def build_main_schedule(
        self,
        variety: str,
        *,
        start_day: str = "",
        end_day: str = "",
        switch_ratio: float | None = None,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = datasets_pb2.BuildMainScheduleRequest(
            variety=variety, start_day=start_day, end_day=end_day, **_given(switch_ratio=switch_ratio)
        )
        return self._run(self._datasets.BuildMainSchedule, req, on_progress)

    def build_main_l5(
        self,
        variety: str,
        *,
        start_day: str = "",
        end_day: str = "",
        switch_ratio: float | None = None,
        force: bool = False,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = datasets_pb2.BuildMainL5Request(
            variety=variety, start_day=start_day, end_day=end_day, force=force, **_given(switch_ratio=switch_ratio)
        )
        return self._run(self._datasets.BuildMainL5, req, on_progress)

    def build_dataset(
        self,
        symbol: str,
        *,
        start_day: str = "",
        end_day: str = "",
        factors: Sequence[str] = (),
        horizons: Sequence[int] = (),
        threshold_ticks: float | None = None,
        overwrite: bool = False,
        kinds: Sequence[str] = (),
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = datasets_pb2.BuildDatasetRequest(
            symbol=symbol,
            start_day=start_day,
            end_day=end_day,
            factors=list(factors),
            horizons=list(horizons),
            overwrite=overwrite,
            kinds=list(kinds),
            **_given(threshold_ticks=threshold_ticks),
        )
        return self._run(self._datasets.BuildDataset, req, on_progress)

    # --- data system -----------------------------------------------------------------
    def download(
        self,
        symbol: str,
        start_day: str,
        end_day: str,
        *,
        chunk_days: int | None = None,
        force: bool = False,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = data_pb2.DownloadRequest(
            symbol=symbol, start_day=start_day, end_day=end_day, force=force, **_given(chunk_days=chunk_days)
        )
        return self._run(self._data.Download, req, on_progress)

    def download_contract_range(
        self,
        variety: str,
        first_contract: str,
        last_contract: str,
        *,
        start_day: str = "",
        end_day: str = "",
        chunk_days: int | None = None,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = data_pb2.DownloadContractRangeRequest(
            variety=variety,
            first_contract=first_contract,
            last_contract=last_contract,
            start_day=start_day,
            end_day=end_day,
            **_given(chunk_days=chunk_days),
        )
        return self._run(self._data.DownloadContractRange, req, on_progress)

    def update(
        self, variety: str, *, recent_expiry_days: int | None = None, on_progress: ProgressHandler = _ignore
    ) -> RunResultView:
        req = data_pb2.UpdateRequest(variety=variety, **_given(recent_expiry_days=recent_expiry_days))
        return self._run(self._data.Update, req, on_progress)

    def record(
        self, symbols: Sequence[str], *, duration_s: float | None = None, on_progress: ProgressHandler = _ignore
    ) -> RunResultView:
        req = data_pb2.RecordRequest(symbols=list(symbols), **_given(duration_s=duration_s))
        return self._run(self._data.Record, req, on_progress)

    def verify(
        self,
        variety: str = "",
        symbols: Sequence[str] = (),
        *,
        start_day: str = "",
        end_day: str = "",
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = data_pb2.VerifyRequest(variety=variety, symbols=list(symbols), start_day=start_day, end_day=end_day)
        return self._run(self._data.Verify, req, on_progress)

    def fill_missing(
        self, variety: str, *, mode: str = "normal", on_progress: ProgressHandler = _ignore
    ) -> RunResultView:
        return self._run(self._data.FillMissing, data_pb2.FillMissingRequest(variety=variety, mode=mode), on_progress)

    def bootstrap_index(self, symbols: Sequence[str] = (), *, on_progress: ProgressHandler = _ignore) -> RunResultView:
        return self._run(self._data.BootstrapIndex, data_pb2.BootstrapIndexRequest(symbols=list(symbols)), on_progress)

    def audit(
        self,
        symbols: Sequence[str] = (),
        *,
        sample_days: int | None = None,
        seed: int = 0,
        on_progress: ProgressHandler = _ignore,
    ) -> RunResultView:
        req = data_pb2.AuditRequest(symbols=list(symbols), seed=seed, **_given(sample_days=sample_days))
        return self._run(self._data.Audit, req, on_progress)

    def contract_status(self, variety: str) -> VarietyStatusView:
        r = self._call(self._data.GetContractStatus, data_pb2.GetContractStatusRequest(variety=variety))
        return VarietyStatusView(
            variety=r.variety,
            contracts=tuple(
                ContractStatusView(
                    c.symbol,
                    c.status,
                    c.expected_days,
                    c.present_days,
                    c.no_data_days,
                    c.missing_days,
                    c.first_present_day,
                    c.last_present_day,
                )
                for c in r.contracts
            ),
            counts=dict(r.counts),
        )

    # --- broker accounts -------------------------------------------------------------
    def list_accounts(self) -> list[dict[str, Any]]:
        """Configured broker profiles (masked ids) with their last cached verification."""
        r = self._call(self._accounts.ListAccounts, accounts_pb2.ListAccountsRequest())
        return [
            {
                **_profile_dict(a.profile),
                "verified": a.verified,
                "last_check": _check_dict(a.last_check) if a.verified else None,
            }
            for a in r.accounts
        ]

    def verify_account(self, profile: str, timeout_s: float = 120.0) -> dict[str, Any]:
        """Read-only login to ``profile`` and one snapshot (cached by the server)."""
        r = self._call(
            self._accounts.VerifyAccount, accounts_pb2.VerifyAccountRequest(profile=profile), timeout_s=timeout_s
        )
        return _check_dict(r.check)

    # --- the server's scheduler --------------------------------------------------------
    def list_schedules(self, claims_limit: int | None = None) -> dict[str, Any]:
        """Stored schedules (next run, last result), the daily update targets and latest claims."""
        req = scheduler_pb2.ListSchedulesRequest()
        if claims_limit is not None:
            req.claims_limit = claims_limit
        r = self._call(self._scheduler.ListSchedules, req)
        return {
            "running": r.running,
            "daily_update_targets": list(r.daily_update_targets),
            "schedules": [
                {
                    "schedule_id": s.schedule_id,
                    "description": s.description,
                    "trigger": s.trigger,
                    "timezone": s.timezone,
                    "next_run_ns": s.next_run_ns,
                    "last_fired_ns": s.last_fired_ns,
                    "last_result": s.last_result,
                    "misfire_grace_s": s.misfire_grace_s,
                    "coalesce": s.coalesce,
                }  # fmt: skip
                for s in r.schedules
            ],
            "claims": [
                {"target": c.target, "trading_day": c.trading_day, "claimed_ns": c.claimed_ns, "job_id": c.job_id}
                for c in r.claims
            ],
        }

    def report_figures(self, report_path: str, max_bytes: int | None = None) -> list[tuple[str, bytes]]:
        """(name, PNG bytes) of each figure of the report a job wrote (its ``report_path``)."""
        req = reports_pb2.GetReportFiguresRequest(report_path=report_path)
        if max_bytes is not None:
            req.max_bytes = max_bytes
        r = self._call(self._reports.GetReportFigures, req)
        return [(f.name, bytes(f.png)) for f in r.figures]

    def run_schedule(self, schedule_id: str, timeout_s: float = 60.0) -> str:
        """Fire one schedule now; what it did."""
        r = self._call(
            self._scheduler.RunSchedule, scheduler_pb2.RunScheduleRequest(schedule_id=schedule_id), timeout_s=timeout_s
        )
        return r.result

    # --- read-only SQL -----------------------------------------------------------------
    def run_query(self, sql: str, *, max_rows: int | None = None, timeout_s: float | None = None) -> dict[str, Any]:
        """One read-only statement: ``columns`` (name, type), ``rows`` (lists of Python values,
        None for NULL), ``truncated``/``truncated_by``, ``row_count``, ``elapsed_ms`` ..."""
        request = query_pb2.RunQueryRequest(sql=sql, **_given(max_rows=max_rows, timeout_s=timeout_s))
        r = self._call(self._query.RunQuery, request)
        return {
            "columns": [{"name": c.name, "type": c.type_name} for c in r.columns],
            "rows": [[_query_value(v) for v in row.values] for row in r.rows],
            "row_count": r.row_count,
            "truncated": r.truncated,
            "truncated_by": r.truncated_by,
            "elapsed_ms": r.elapsed_ms,
            "statement": r.statement,
            "store": r.store,
            "max_rows": r.max_rows,
            "timeout_s": r.timeout_s,
        }

    # --- transaction cost analysis -------------------------------------------------------
    def tca_analyze(
        self,
        run_id: str = "",
        *,
        no_report: bool = False,
        backtest: dict[str, Any] | None = None,
        timeout_s: float = 600.0,
    ) -> dict[str, Any]:
        """TCA of a trading run, or of a backtest replayed for its fills (``backtest``: model_id,
        start_day, end_day and optionally version, execution, flat_s; as in tca.proto
        ``BacktestToAnalyze``). Fields as in ``AnalyzeResponse``, nested as dicts."""
        request = tca_pb2.AnalyzeRequest(run_id=run_id, no_report=no_report)
        if backtest is not None:
            request.backtest.CopyFrom(tca_pb2.BacktestToAnalyze(**_given(**backtest)))
        return _message_dict(self._call(self._tca.Analyze, request, timeout_s=timeout_s))

    def tca_pretrade(
        self,
        symbol: str,
        side: int,
        qty: int,
        *,
        horizon_s: float | None = None,
        slices: int | None = None,
        schedule: str = "",
        urgency: float | None = None,
        days: int | None = None,
        end_day: str = "",
        timeout_s: float = 120.0,
    ) -> dict[str, Any]:
        """Pre-trade estimate (fields as in tca.proto ``PreTradeResponse``)."""
        request = tca_pb2.PreTradeRequest(
            symbol=symbol, side=side, qty=qty, schedule=schedule, end_day=end_day,
            **_given(horizon_s=horizon_s, slices=slices, urgency=urgency, days=days),
        )  # fmt: skip
        return _message_dict(self._call(self._tca.PreTrade, request, timeout_s=timeout_s))

    # --- ensembles ----------------------------------------------------------------------
    def create_ensemble(
        self,
        ensemble_id: str,
        members: Sequence[str],
        strategy: str,
        *,
        weights: Sequence[float] = (),
        performance_window_days: int = 0,
        params: Mapping[str, Any] | None = None,
        note: str = "",
        registered: Sequence[str] = (),
        dynamic_metric: str = "",
    ) -> dict[str, Any]:
        """Store an ensemble configuration as its next active version (fields of ``EnsembleConfig``;
        ``params`` decoded from JSON); ``registered``: model_id[@version] members instead of families."""
        request = ensembles_pb2.CreateEnsembleRequest(
            ensemble_id=ensemble_id,
            member_models=list(members),
            strategy=strategy,
            weights=[float(w) for w in weights],
            performance_window_days=performance_window_days,
            params_json=json.dumps(dict(params or {})),
            note=note,
            registered_models=list(registered),
            dynamic_metric=dynamic_metric,
        )
        return _ensemble_dict(self._call(self._ensembles.CreateEnsemble, request))

    def list_ensembles(self, ensemble_id: str = "") -> list[dict[str, Any]]:
        r = self._call(self._ensembles.ListEnsembles, ensembles_pb2.ListEnsemblesRequest(ensemble_id=ensemble_id))
        return [_ensemble_dict(e) for e in r.ensembles]

    def get_ensemble(self, ensemble_id: str, version: int | None = None) -> dict[str, Any]:
        request = ensembles_pb2.GetEnsembleRequest(ensemble_id=ensemble_id, **_given(version=version))
        return _ensemble_dict(self._call(self._ensembles.GetEnsemble, request))

    def rollback_ensemble(self, ensemble_id: str, version: int) -> dict[str, Any]:
        request = ensembles_pb2.RollbackEnsembleRequest(ensemble_id=ensemble_id, version=version)
        return _ensemble_dict(self._call(self._ensembles.RollbackEnsemble, request))

    # --- jobs and locks ---------------------------------------------------------------
    def list_jobs(
        self, *, states: Sequence[str] = (), source: str = "", limit: int = 0, before_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Jobs, newest first (fields as in jobs.proto ``Job``); ``before_id``: only older ones."""
        request = jobs_pb2.ListJobsRequest(
            states=list(states), source=source, limit=limit, **_given(before_id=before_id)
        )
        r = self._call(self._jobs.ListJobs, request)
        return [_fields(j) for j in r.jobs]

    def get_job(self, job_id: int) -> dict[str, Any]:
        return _fields(self._call(self._jobs.GetJob, jobs_pb2.GetJobRequest(job_id=job_id)).job)

    def tail_job_log(self, job_id: int, *, offset: int = 0, follow: bool = False) -> Iterator[str]:
        """The job's log in pieces; with ``follow`` until the job ends."""
        request = jobs_pb2.TailJobLogRequest(job_id=job_id, offset=offset, follow=follow)
        try:
            for piece in self._jobs.TailJobLog(request, metadata=self._metadata):
                yield piece.text
        except grpc.RpcError as exc:
            raise self._translate(exc) from None

    def cancel_job(self, job_id: int, *, grace_s: float | None = None) -> dict[str, Any]:
        request = jobs_pb2.CancelJobRequest(job_id=job_id, **_given(grace_s=grace_s))
        wait = (grace_s if grace_s is not None else 10.0) + self._timeout_s
        return _fields(self._call(self._jobs.CancelJob, request, timeout_s=wait).job)

    def reproduce_job(self, job_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """Submit finished job ``job_id``'s request again: (the original, the new job)."""
        r = self._call(self._jobs.ReproduceJob, jobs_pb2.ReproduceJobRequest(job_id=job_id))
        return _fields(r.original), _fields(r.job)

    def compare_jobs(
        self, original_job_id: int, reproduced_job_id: int, *, rtol: float | None = None, atol: float | None = None
    ) -> dict[str, Any]:
        """Compare two finished jobs' run manifests (fields as in jobs.proto ``CompareJobsResponse``;
        ``differences`` as dicts)."""
        request = jobs_pb2.CompareJobsRequest(
            original_job_id=original_job_id, reproduced_job_id=reproduced_job_id, **_given(rtol=rtol, atol=atol)
        )
        r = self._call(self._jobs.CompareJobs, request)
        out = _fields(r)
        out["differences"] = [_fields(d) for d in r.differences]
        return out

    def list_locks(self) -> list[dict[str, Any]]:
        return [_fields(lock) for lock in self._call(self._jobs.ListLocks, jobs_pb2.ListLocksRequest()).locks]

    # --- experiments -----------------------------------------------------------------
    def list_experiments(
        self,
        *,
        project: str = "",
        kind: str = "",
        tag: str = "",
        status: str = "",
        limit: int | None = None,
        since_ns: int | None = None,
    ) -> list[dict[str, Any]]:
        """Experiment records, newest first (fields as in experiments.proto ``Experiment``,
        ``hyperparameters`` parsed, unset optionals None, no learning curves)."""
        request = experiments_pb2.ListExperimentsRequest(
            project=project, kind=kind, tag=tag, status=status, **_given(limit=limit, since_ns=since_ns)
        )
        return [experiment_dict(e) for e in self._call(self._experiments.ListExperiments, request).experiments]

    def get_experiment(self, ref: str) -> dict[str, Any]:
        """One experiment by experiment id or job id, with ``learning_curves`` {name: [[step, value] ...]}."""
        r = self._call(self._experiments.GetExperiment, experiments_pb2.GetExperimentRequest(ref=ref))
        return experiment_dict(r.experiment)

    def diff_experiments(self, a: str, b: str) -> dict[str, Any]:
        """``a`` and ``b`` side by side: ``parameters`` [{key, a, b}] that differ, ``metrics``
        [{key, a, b, delta}] (None where missing), ``same_code``."""
        r = self._call(self._experiments.DiffExperiments, experiments_pb2.DiffExperimentsRequest(a=a, b=b))
        return {
            "a": experiment_dict(r.a),
            "b": experiment_dict(r.b),
            "parameters": [{"key": p.key, "a": p.a, "b": p.b} for p in r.parameters],
            "metrics": [
                {"key": m.key, **{f: getattr(m, f) if m.HasField(f) else None for f in ("a", "b", "delta")}}
                for m in r.metrics
            ],
            "same_code": r.same_code,
        }

    def annotate_experiment(
        self, ref: str, *, notes: str | None = None, add_tags: Sequence[str] = (), remove_tags: Sequence[str] = ()
    ) -> dict[str, Any]:
        request = experiments_pb2.AnnotateExperimentRequest(
            ref=ref, add_tags=list(add_tags), remove_tags=list(remove_tags), **_given(notes=notes)
        )
        return experiment_dict(self._call(self._experiments.AnnotateExperiment, request).experiment)

    def export_experiments(
        self, *, since_ns: int | None = None, limit: int | None = None, timeout_s: float = 600.0
    ) -> list[dict[str, Any]]:
        """Mirror finished experiments to the server's MLflow: [{experiment_id, mlflow_run_id}]."""
        request = experiments_pb2.ExportExperimentsRequest(**_given(since_ns=since_ns, limit=limit))
        r = self._call(self._experiments.ExportExperiments, request, timeout_s=timeout_s)
        return [_fields(e) for e in r.exported]

    def directory_sizes(self) -> dict[str, Any]:
        """The data / runs / artifacts folder sizes as last measured (never waits for a walk)."""
        r = self._call(self._system.GetDirectorySizes, system_pb2.GetDirectorySizesRequest())
        return {
            "sizes": [_fields(x) for x in r.sizes],
            "measuring": r.measuring,
            "ttl_seconds": r.ttl_seconds,
            "budget_seconds": r.budget_seconds,
        }

    def pipeline_readiness(self, varieties: Sequence[str] = ()) -> dict[str, Any]:
        """Per variety: raw contracts indexed, schedule present, main_l5 days (from the index)."""
        request = system_pb2.GetPipelineReadinessRequest(varieties=list(varieties))
        r = self._call(self._system.GetPipelineReadiness, request)
        return {
            "store_reachable": r.store_reachable,
            "store_detail": r.store_detail,
            "varieties": [_fields(v) for v in r.varieties],
        }

    def get_status(self) -> StatusView:
        r = self._call(self._system.GetStatus, system_pb2.GetStatusRequest())
        return StatusView(
            version=r.version,
            git_commit=r.git_commit,
            uptime_seconds=r.uptime_seconds,
            server_time_ns=r.server_time_ns,
            store_backend=r.store.backend,
            store_reachable=r.store.reachable,
            store_detail=r.store.detail,
            cpu_percent=r.cpu_percent,
            cpu_count=r.cpu_count,
            memory_used_bytes=r.memory_used_bytes,
            memory_total_bytes=r.memory_total_bytes,
            disks=tuple(DiskView(d.path, d.used_bytes, d.free_bytes, d.total_bytes) for d in r.disks),
            gpu=r.gpu,
            provider=r.provider,
        )


def experiment_dict(e: experiments_pb2.Experiment) -> dict[str, Any]:
    """An ``Experiment`` message as a dict (hyper-parameters parsed, unset optionals None)."""
    out = _fields(e)
    out.pop("hyperparameters_json")
    out["hyperparameters"] = json.loads(e.hyperparameters_json) if e.hyperparameters_json else {}
    out["metrics"] = dict(e.metrics)
    out["learning_curves"] = {
        c.name: [[s, v] for s, v in zip(c.steps, c.values, strict=True)] for c in e.learning_curves
    }
    for name in ("git_dirty", "finished_at_ns", "duration_s"):
        out[name] = getattr(e, name) if e.HasField(name) else None
    return out


def _query_value(v: query_pb2.QueryValue) -> Any:
    kind = v.WhichOneof("kind")
    return None if kind in (None, "is_null") else getattr(v, kind)


def _message_dict(message: Any) -> dict[str, Any]:
    """A message as a dict, nested messages as dicts (unlike ``_fields``)."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        nested = field.message_type is not None
        if field.is_repeated:
            out[field.name] = [_message_dict(v) for v in value] if nested else list(value)
        else:
            out[field.name] = _message_dict(value) if nested else value
    return out


def _ensemble_dict(message: ensembles_pb2.EnsembleConfig) -> dict[str, Any]:
    out = _fields(message)
    out["params"] = json.loads(out.pop("params_json") or "{}")
    return out


def _fields(message: Any) -> dict[str, Any]:
    """A flat message as a dict of its fields (repeated ones as lists)."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        out[field.name] = value if isinstance(value, (str, bytes, int, float, bool)) else list(value)
    return out


def _profile_dict(p: accounts_pb2.AccountProfile) -> dict[str, Any]:
    return {
        "profile": p.profile,
        "broker_id": p.broker_id,
        "masked_account_id": p.masked_account_id,
        "has_password": p.has_password,
    }


def _check_dict(c: accounts_pb2.AccountCheck) -> dict[str, Any]:
    return {
        **_profile_dict(c.profile),
        "ok": c.ok,
        "error": c.error,
        "checked_ns": c.checked_ns,
        **{
            k: getattr(c, k)
            for k in ("balance", "available", "margin", "float_profit", "position_profit", "risk_ratio")
        },
        "positions": [
            {
                "symbol": p.symbol,
                "long_today": p.long_today,
                "long_yd": p.long_yd,
                "short_today": p.short_today,
                "short_yd": p.short_yd,
            }  # fmt: skip
            for p in c.positions
        ],
        "cache_path": c.cache_path,
    }
