"""HPO at the API edge: the request conversion (defaults, validation) and the typed HpoResult
built from a report's JSON."""

from __future__ import annotations

import json

import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.interfaces.grpc.servicers.hpo import _locks, hpo_request
from ghtrader.interfaces.grpc.typed_results import typed_fields
from ghtrader.v1 import hpo_pb2, research_pb2


def test_request_defaults_and_lock() -> None:
    msg = hpo_pb2.RunHpoRequest(family="lightgbm", scope=research_pb2.ResearchScope(symbol="KQ.m@SHFE.au"))
    req = hpo_request(msg)
    assert req.n_trials == 20 and req.objectives == ("info_captured",) and req.pruner == "median"
    assert req.study == "hpo_lightgbm_KQ.m_SHFE.au_h10" and req.include_defaults and req.timeout_s is None
    assert _locks(msg) == ("hpo:study=hpo_lightgbm_KQ.m_SHFE.au_h10",)
    msg = hpo_pb2.RunHpoRequest(
        family="xgboost", study="s", n_trials=3, timeout_s=60, objectives=["net_sharpe,max_drawdown"],
        parallel=4, gpus_per_trial=1, no_defaults=True,
    )  # fmt: skip
    req = hpo_request(msg)
    assert req.objectives == ("net_sharpe", "max_drawdown") and req.resources.gpus == 1.0 and req.parallel == 4
    assert req.timeout_s == 60 and not req.include_defaults and _locks(msg) == ("hpo:study=s",)
    with pytest.raises(InvalidArgument, match="family"):
        hpo_request(hpo_pb2.RunHpoRequest())
    with pytest.raises(InvalidArgument, match="cpus_per_trial"):
        hpo_request(hpo_pb2.RunHpoRequest(family="x", cpus_per_trial=0))


def test_typed_result_from_the_report_json() -> None:
    trial = {"number": 3, "state": "completed", "params": {"lr": 0.1}, "values": {"info_captured": 0.4},
             "worker": "n1", "duration_s": 2.0, "baseline": False, "error": "", "created_at_ns": 5}  # fmt: skip
    base = {**trial, "number": 0, "baseline": True, "values": {"info_captured": 0.3}}
    payload = {"study": "s", "family": "lightgbm", "objectives": ["info_captured"], "directions": ["maximize"],
               "counts": {"completed": 4, "pruned": 1, "failed": 0}, "best": [trial], "baseline": base,
               "workers": ["n1", "n2"], "ran_now": [0, 1, 2, 3, 4], "executor": "ray"}  # fmt: skip
    typed = typed_fields("RunHpo", payload)["hpo"]
    assert typed.study == "s" and typed.completed == 4 and typed.pruned == 1 and list(typed.workers) == ["n1", "n2"]
    assert typed.best[0].number == 3 and list(typed.best[0].values) == [0.4] and typed.best[0].duration_s == 2.0
    assert json.loads(typed.best[0].params_json) == {"lr": 0.1}
    assert typed.baseline.baseline and list(typed.baseline.values) == [0.3] and typed.executor == "ray"
