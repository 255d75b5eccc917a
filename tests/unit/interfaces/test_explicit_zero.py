"""A zero in a request means zero: proto3 ``optional`` fields, defaults only when unset.

The servicers run on a real in-process gRPC server with use cases that record the request they
are handed and then refuse it (NOT_FOUND), so each test sees exactly what reached the use case.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.interfaces.cli import CliHooks, ConnectionDefaults, run
from ghtrader.interfaces.client import ApiError, GhTraderClient
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.data import DataUseCases, data_service
from ghtrader.interfaces.grpc.servicers.datasets import DatasetUseCases, dataset_service
from ghtrader.interfaces.grpc.servicers.research import (
    ResearchUseCases,
    research_service,
)


class Recorder:
    """A use case that keeps the request it gets and answers NOT_FOUND."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.error: Exception = NotFound("recorded")

    def __call__(self, request: Any, progress: Any = None, should_stop: Any = None) -> Any:
        self.requests.append(request)
        raise self.error

    @property
    def last(self) -> Any:
        assert self.requests, "the use case was never called"
        return self.requests[-1]


def _unused() -> Any:
    raise AssertionError("not expected in this test")


@pytest.fixture
def recorded() -> Iterator[tuple[str, dict[str, Recorder]]]:
    uc = {
        name: Recorder()
        for name in ("benchmark", "compare", "schedule", "main_l5", "build", "download", "update", "record", "audit")
    }

    def factory(name: str) -> Callable[[], Recorder]:
        return lambda: uc[name]

    services = [
        research_service(
            ResearchUseCases(
                train=_unused,
                benchmark=factory("benchmark"),
                compare=factory("compare"),
                registry=_unused,
                clock=_unused,
            )
        ),
        dataset_service(
            DatasetUseCases(
                build_main_schedule=factory("schedule"),
                build_main_l5=factory("main_l5"),
                build_dataset=factory("build"),
            )
        ),
        data_service(
            DataUseCases(
                download=factory("download"),
                download_contract_range=_unused,
                update=factory("update"),
                record=factory("record"),
                verify=_unused,
                fill_missing=_unused,
                bootstrap_index=_unused,
                audit=factory("audit"),
                contract_status=_unused,
            )
        ),
    ]
    server = GrpcServer(ServerOptions(host="127.0.0.1", port=0), services)
    server.start()
    try:
        yield server.target, uc
    finally:
        server.stop(grace_s=0)


def _refused(call: Callable[[], Any]) -> ApiError:
    with pytest.raises(ApiError) as info:
        call()
    return info.value


def test_commission_zero_reaches_the_benchmark_as_zero(recorded: tuple[str, dict[str, Recorder]]) -> None:
    target, uc = recorded
    with GhTraderClient(target) as client:
        assert (
            _refused(lambda: client.benchmark("lightgbm", client.scope(), commission_bp=0.0, slippage_ticks=0.0)).code
            == "NOT_FOUND"
        )
        zero = uc["benchmark"].last
        _refused(lambda: client.benchmark("lightgbm", client.scope()))
        default = uc["benchmark"].last
        _refused(lambda: client.compare(["logistic", "lightgbm"], client.scope(), commission_bp=0.0))
        compared = uc["compare"].last
    assert zero.costs.commission_bp == 0.0 and zero.costs.slippage_ticks == 0.0
    assert default.costs.commission_bp == 1.0 and default.n_splits == 5 and default.horizon == 10
    assert compared.base.costs.commission_bp == 0.0


def test_an_explicit_zero_count_is_refused_not_replaced_by_the_default(
    recorded: tuple[str, dict[str, Recorder]],
) -> None:
    target, uc = recorded
    with GhTraderClient(target) as client:
        for scope, field in (
            (client.scope(horizon=0), "horizon"),
            (client.scope(window=0), "window"),
            (client.scope(max_epochs=0), "max_epochs"),
            (client.scope(max_train_rows=0), "max_train_rows"),
        ):
            err = _refused(lambda scope=scope: client.benchmark("lightgbm", scope))
            assert err.code == "INVALID_ARGUMENT" and field in err.message
        assert uc["benchmark"].requests == []
        _refused(lambda: client.benchmark("lightgbm", client.scope(), n_splits=0))
    assert uc["benchmark"].last.n_splits == 0  # handed on as given; RunBenchmark refuses fewer than 5


def test_switch_ratio_and_k_zero_are_refused_and_unset_takes_the_default(
    recorded: tuple[str, dict[str, Recorder]],
) -> None:
    target, uc = recorded
    with GhTraderClient(target) as client:
        err = _refused(lambda: client.build_main_schedule("SHFE.cu", switch_ratio=0.0))
        assert err.code == "INVALID_ARGUMENT" and "switch_ratio" in err.message
        err = _refused(lambda: client.build_main_l5("SHFE.cu", switch_ratio=0.0))
        assert err.code == "INVALID_ARGUMENT" and "switch_ratio" in err.message
        err = _refused(lambda: client.build_dataset("KQ.m@SHFE.cu", threshold_ticks=0.0))
        assert err.code == "INVALID_ARGUMENT" and "k=0" in err.message
        _refused(lambda: client.build_main_schedule("SHFE.cu"))
        _refused(lambda: client.build_main_l5("SHFE.cu"))
        _refused(lambda: client.build_dataset("KQ.m@SHFE.cu", threshold_ticks=0.5))
    assert uc["schedule"].last.switch_ratio == 1.1
    assert uc["main_l5"].last.switch_ratio is None  # the stored schedule's own
    assert uc["build"].last.labels.k == 0.5


def test_data_fields_keep_their_zero_or_refuse_it(recorded: tuple[str, dict[str, Recorder]]) -> None:
    target, uc = recorded
    with GhTraderClient(target) as client:
        _refused(lambda: client.update("SHFE.cu", recent_expiry_days=0))
        assert uc["update"].last.recent_expiry_days == 0  # active contracts only, not the default 10
        _refused(lambda: client.update("SHFE.cu"))
        assert uc["update"].last.recent_expiry_days == 10
        for call, field in (
            (lambda: client.download("SHFE.cu2602", "2024-01-02", "2024-01-05", chunk_days=0), "chunk_days"),
            (lambda: client.record(["SHFE.cu2602"], duration_s=0.0), "duration_s"),
        ):
            err = _refused(call)
            assert err.code == "INVALID_ARGUMENT" and field in err.message
        _refused(lambda: client.record(["SHFE.cu2602"]))
        assert uc["record"].last.max_runtime_s is None
        _refused(lambda: client.audit(sample_days=3))
        _refused(lambda: client.audit())
    assert [r.sample_days for r in uc["audit"].requests] == [3, None]
    assert uc["download"].requests == []


@contextmanager
def _no_local() -> Iterator[str]:
    raise AssertionError("local server not expected")
    yield ""  # pragma: no cover


def _cli(target: str, *argv: str) -> tuple[int, str]:
    err = io.StringIO()
    host, port = target.rsplit(":", 1)
    code = run(
        ["--wait", *argv],
        defaults=ConnectionDefaults(host=host, port=int(port)),
        hooks=CliHooks(serve=lambda h, p: 0, local_server=_no_local),
        stdout=io.StringIO(),
        stderr=err,
    )
    return code, err.getvalue()


def test_cli_sends_commission_zero_and_leaves_unset_flags_unset(recorded: tuple[str, dict[str, Recorder]]) -> None:
    target, uc = recorded
    code, err = _cli(target, "benchmark", "lightgbm", "--commission-bp", "0")
    assert code == 3 and "NOT_FOUND" in err  # the recorder refuses after recording
    assert uc["benchmark"].last.costs.commission_bp == 0.0
    _cli(target, "benchmark", "lightgbm")
    assert uc["benchmark"].last.costs.commission_bp == 1.0
    _cli(target, "update", "--var", "SHFE.cu", "--recent-expiry-days", "0")
    assert uc["update"].last.recent_expiry_days == 0


def test_cli_maps_the_servers_invalid_argument_to_exit_2_naming_the_flag(
    recorded: tuple[str, dict[str, Recorder]],
) -> None:
    target, uc = recorded
    code, err = _cli(target, "train", "lightgbm")  # the servicer needs the training days
    assert code == 2 and "INVALID_ARGUMENT" not in err
    assert "invalid argument" in err and "--start" in err and "--end" in err
    uc["benchmark"].error = InvalidArgument("n_splits=3: a walk-forward benchmark needs at least 5 folds")
    code, err = _cli(target, "benchmark", "lightgbm", "--splits", "3")
    assert code == 2
    assert "n_splits=3" in err and "(see --splits)" in err
    assert uc["benchmark"].last.n_splits == 3
