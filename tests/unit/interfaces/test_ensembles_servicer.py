"""EnsembleService translates messages to the EnsembleConfigs use case and back; the CLI's
``--member-param`` parsing."""

from __future__ import annotations

import argparse
import json

import pytest

from ghtrader.adapters.memory.ensemble_configs import InMemoryEnsembleConfigStore
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.research.ensemble_configs import EnsembleConfigs
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.interfaces.cli.commands.ensembles import _member_params
from ghtrader.interfaces.grpc.servicers.ensembles import EnsembleServicer
from ghtrader.v1 import ensembles_pb2


class _Family:
    kind = "tabular"

    def __init__(self, name: str) -> None:
        self.name = name

    def default_params(self) -> dict:
        return {}


class _Clock:
    def now_ns(self) -> int:
        return 5


def _servicer() -> EnsembleServicer:
    families = FamilyRegistry([_Family("logistic"), _Family("lightgbm")])  # type: ignore[list-item]
    configs = EnsembleConfigs(InMemoryEnsembleConfigStore(), families, object(), _Clock())  # type: ignore[arg-type]
    return EnsembleServicer(lambda: configs)


def test_create_list_get_rollback_round_trip() -> None:
    s = _servicer()
    ctx = None
    created = s.CreateEnsemble(
        ensembles_pb2.CreateEnsembleRequest(
            ensemble_id="fast",
            member_models=["logistic", "lightgbm"],
            strategy="stacking",
            params_json=json.dumps({"oof_folds": 2}),
            note="n",
        ),
        ctx,  # type: ignore[arg-type]
    )
    assert (created.version, created.active, created.family, created.note) == (1, True, "ensemble-fast@1", "n")
    assert json.loads(created.params_json) == {"oof_folds": 2} and created.created_at_ns == 5
    s.CreateEnsemble(
        ensembles_pb2.CreateEnsembleRequest(
            ensemble_id="fast", member_models=["logistic", "lightgbm"], strategy="weighted", weights=[1, 3]
        ),
        ctx,  # type: ignore[arg-type]
    )
    listed = s.ListEnsembles(ensembles_pb2.ListEnsemblesRequest(ensemble_id="fast"), ctx)  # type: ignore[arg-type]
    assert [(e.version, e.active) for e in listed.ensembles] == [(1, False), (2, True)]
    assert list(listed.ensembles[1].weights) == [1.0, 3.0]
    back = s.RollbackEnsemble(ensembles_pb2.RollbackEnsembleRequest(ensemble_id="fast", version=1), ctx)  # type: ignore[arg-type]
    assert back.active and back.strategy == "stacking"
    active = s.GetEnsemble(ensembles_pb2.GetEnsembleRequest(ensemble_id="fast"), ctx)  # type: ignore[arg-type]
    assert active.version == 1
    assert s.GetEnsemble(ensembles_pb2.GetEnsembleRequest(ensemble_id="fast", version=2), ctx).version == 2  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        s.GetEnsemble(ensembles_pb2.GetEnsembleRequest(ensemble_id="nope"), ctx)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="not JSON"):
        s.CreateEnsemble(
            ensembles_pb2.CreateEnsembleRequest(
                ensemble_id="x", member_models=["logistic"], strategy="equal", params_json="{"
            ),
            ctx,  # type: ignore[arg-type]
        )


def test_member_params_parse_json_values() -> None:
    assert _member_params(["lightgbm.num_boost_round=30", "lightgbm.objective=multi", "logistic.l2_path=[1, 0.1]"]) == {
        "lightgbm": {"num_boost_round": 30, "objective": "multi"},
        "logistic": {"l2_path": [1, 0.1]},
    }
    with pytest.raises(argparse.ArgumentTypeError):
        _member_params(["num_boost_round=30"])


class _Pinned:
    """RegisteredMembers stand-in: pins every spec to version 7, refuses 'other-h5'."""

    def pin(self, specs: list[str]) -> list[str]:
        if "other-h5" in specs:
            raise InvalidArgument("registered members differ in horizon")
        return [s if s.endswith("@7") else f"{s}@7" for s in specs]


def test_registered_members_and_the_dynamic_metric_go_through() -> None:
    families = FamilyRegistry([_Family("logistic")])  # type: ignore[list-item]
    configs = EnsembleConfigs(
        InMemoryEnsembleConfigStore(),
        families,
        object(),  # type: ignore[arg-type]
        _Clock(),
        _Pinned(),  # type: ignore[arg-type]
    )
    s = EnsembleServicer(lambda: configs)
    created = s.CreateEnsemble(
        ensembles_pb2.CreateEnsembleRequest(
            ensemble_id="reg", registered_models=["a-KQ.m@SHFE.cu-h10", "b-h10@7"], strategy="dynamic",
            dynamic_metric="sharpe",
        ),
        None,  # type: ignore[arg-type]
    )  # fmt: skip
    assert created.registered and list(created.member_models) == ["a-KQ.m@SHFE.cu-h10@7", "b-h10@7"]
    assert json.loads(created.params_json) == {"dynamic_metric": "sharpe", "registered": True}
    plain = s.CreateEnsemble(
        ensembles_pb2.CreateEnsembleRequest(ensemble_id="fam", member_models=["logistic"], strategy="equal"),
        None,  # type: ignore[arg-type]
    )
    assert not plain.registered
    with pytest.raises(InvalidArgument, match="differ in horizon"):
        s.CreateEnsemble(
            ensembles_pb2.CreateEnsembleRequest(ensemble_id="x", registered_models=["other-h5"], strategy="equal"),
            None,  # type: ignore[arg-type]
        )
    with pytest.raises(InvalidArgument, match="not both"):
        s.CreateEnsemble(
            ensembles_pb2.CreateEnsembleRequest(
                ensemble_id="x", member_models=["logistic"], registered_models=["a-h10"], strategy="equal"
            ),
            None,  # type: ignore[arg-type]
        )
    with pytest.raises(InvalidArgument, match="dynamic_metric"):
        s.CreateEnsemble(
            ensembles_pb2.CreateEnsembleRequest(
                ensemble_id="x", registered_models=["a-h10"], strategy="equal", dynamic_metric="sharpe"
            ),
            None,  # type: ignore[arg-type]
        )
