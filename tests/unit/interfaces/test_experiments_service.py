"""ExperimentService over the real gRPC stack with the in-memory store: records round-trip
(optional fields, learning curves, NaN metrics in a diff), filters, annotate, export, refusals."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from ghtrader.adapters.memory.experiment_store import InMemoryExperimentStore
from ghtrader.application.experiments import ExperimentRecorder, Experiments
from ghtrader.application.ports.experiments import ExperimentRecord
from ghtrader.application.run_manifest import CodeVersion
from ghtrader.interfaces.client import ApiError, GhTraderClient
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.experiments import experiments_service
from tests.fakes.system import FakeClock


class _Exporter:
    def export(self, record: ExperimentRecord) -> str:
        return f"run-{record.experiment_id}"


@pytest.fixture()
def served() -> Iterator[tuple[GhTraderClient, ExperimentRecorder, FakeClock]]:
    clock = FakeClock()
    store = InMemoryExperimentStore()
    ids = iter(f"e{i}" for i in range(1, 100))
    recorder = ExperimentRecorder(
        store, clock, CodeVersion("abc", False), exporter=_Exporter(), new_id=lambda: next(ids)
    )
    experiments = Experiments(store, recorder)
    server = GrpcServer(ServerOptions(host="127.0.0.1", port=0), [experiments_service(lambda: experiments)])
    server.start()
    client = GhTraderClient(server.target)
    try:
        yield client, recorder, clock
    finally:
        client.close()
        server.stop(grace_s=0.5)


def test_records_round_trip_and_compare(served: tuple[GhTraderClient, ExperimentRecorder, FakeClock]) -> None:
    client, recorder, clock = served
    a = recorder.start("train", {"family": "tcn", "scope": {"window": 50}}, run_id="3", tags=["base"])
    clock.now += 2_000_000_000
    recorder.finish(
        a, "succeeded", metrics={"accuracy": 0.5, "f1": math.nan}, learning_curves={"loss": ((1, 0.9), (2, 0.8))}
    )
    b = recorder.start("train", {"family": "tcn", "scope": {"window": 100}}, run_id="4")

    listed = client.list_experiments()
    assert [e["experiment_id"] for e in listed] == [b, a] and listed[1]["learning_curves"] == {}
    assert listed[0]["duration_s"] is None and listed[0]["finished_at_ns"] is None and listed[0]["status"] == "running"
    assert listed[1]["duration_s"] == pytest.approx(2.0) and listed[1]["git_dirty"] is False
    assert [e["experiment_id"] for e in client.list_experiments(tag="base")] == [a]
    assert [e["experiment_id"] for e in client.list_experiments(status="running", limit=5)] == [b]

    shown = client.get_experiment("3")
    assert shown["experiment_id"] == a and shown["learning_curves"] == {"loss": [[1, 0.9], [2, 0.8]]}
    assert shown["hyperparameters"] == {"family": "tcn", "scope": {"window": 50}} and math.isnan(shown["metrics"]["f1"])

    d = client.diff_experiments(a, "4")
    assert d["parameters"] == [{"key": "scope.window", "a": "50", "b": "100"}] and d["same_code"] is True
    assert {m["key"]: (m["a"], m["b"], m["delta"]) for m in d["metrics"]} == {
        "accuracy": (0.5, None, None),
        "f1": (None, None, None),
    }

    noted = client.annotate_experiment(b, notes="wider window", add_tags=["try"])
    assert noted["notes"] == "wider window" and noted["tags"] == ["try"]
    assert client.export_experiments() == [{"experiment_id": a, "mlflow_run_id": f"run-{a}"}]  # finished ones only


def test_refusals(served: tuple[GhTraderClient, ExperimentRecorder, FakeClock]) -> None:
    client, _, _ = served
    for call, code in (
        (lambda: client.get_experiment("nope"), "NOT_FOUND"),
        (lambda: client.get_experiment(""), "INVALID_ARGUMENT"),
        (lambda: client.list_experiments(limit=0), "INVALID_ARGUMENT"),
        (lambda: client.list_experiments(kind="sweep"), "INVALID_ARGUMENT"),
        (lambda: client.annotate_experiment("nope", notes="x"), "NOT_FOUND"),
    ):
        with pytest.raises(ApiError) as e:
            call()
        assert e.value.code == code
