"""An ensemble served in the trading loop: its per-member probabilities and disagreement, taken
from the same ONNX run as its probabilities, go into the run journal's target_change events and
into the shadow's shadow_decision records; a single model's events carry none."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.adapters.onnx import OnnxEnsembleGraphWriter
from ghtrader.application.ports.models import TrainConfig
from ghtrader.application.research.ensemble import EnsembleFamily

from .world import TradingWorld

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

MEMBERS = ["logistic", "lightgbm"]


@pytest.fixture(scope="module")
def ensemble(world: TradingWorld) -> str:
    assert world.train is not None and world.families is not None
    if "ensemble" not in world.families.names():
        world.families.register(EnsembleFamily(world.families, OnnxEnsembleGraphWriter()))
    lgb = {"num_boost_round": 30, "learning_rate": 0.2, "num_threads": 1}
    params = {"members": MEMBERS, "strategy": "weighted", "weights": [1.0, 3.0], "member_params": {"lightgbm": lgb}}
    world.train(family="ensemble", model_id="tr-ensemble", config=TrainConfig(horizon=10, params=params))
    return "tr-ensemble"


def _changes(world: TradingWorld, run_id: str) -> list[dict]:  # type: ignore[type-arg]
    return [e for e in world.store.tail_events(run_id, 100_000) if e["kind"] == "target_change"]


def test_target_changes_of_an_ensemble_carry_its_members(world: TradingWorld, ensemble: str) -> None:
    run = world.start()(world.request(model_id=ensemble, max_ticks=400))
    assert run.run()["status"] == "finished"
    changes = _changes(world, run.run_id)
    assert changes, "the ensemble never changed its target in 400 ticks"
    for e in changes:
        members = e["member_probs"]
        assert sorted(members) == sorted(MEMBERS) and all(len(p) == 3 for p in members.values())
        p = np.array([members[name] for name in MEMBERS])
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-4)
        # the served probabilities are the 1:3 vote of the members, the disagreement their
        # weighted total-variation distance to it: both from the same graph run
        vote = 0.25 * p[0] + 0.75 * p[1]
        np.testing.assert_allclose(e["probs"], vote, atol=1e-5)
        tv = 0.5 * np.abs(p - vote).sum(axis=1)
        assert e["disagreement"] == pytest.approx(0.25 * tv[0] + 0.75 * tv[1], abs=1e-5)

    single = world.start()(world.request(max_ticks=200))
    single.run()
    assert all("member_probs" not in e and "disagreement" not in e for e in _changes(world, single.run_id))


def test_a_shadow_ensemble_records_its_members_in_shadow_decisions(world: TradingWorld, ensemble: str) -> None:
    run = world.start()(world.request(max_ticks=400, shadow_model_id=ensemble, shadow_version="1"))
    assert run.run()["status"] == "finished"
    shadows = [e for e in world.store.tail_events(run.run_id, 100_000) if e["kind"] == "shadow_decision"]
    assert shadows, "production and the shadow ensemble never disagreed"
    for e in shadows:
        block = e["shadow_ensemble"]
        assert sorted(block["member_probs"]) == sorted(MEMBERS) and 0.0 <= block["disagreement"] <= 1.0
