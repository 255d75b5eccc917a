"""Shadow and canary runs over the replayed synthetic market (paper and sim)."""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from typing import Any

import pytest

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.domain.trading.orders import OrderRequest, OrderState

from .world import FakeRisk, FakeVenue, TradingWorld

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def models(world: TradingWorld) -> dict[str, str]:
    """tr-logistic v1 (production by default: the newest is asked explicitly) and a differently
    regularised v2 in status shadow."""
    assert world.train is not None
    world.train(model_id="tr-logistic", config=_config(world, 3.0))
    versions = sorted(int(e.version) for e in world.registry.list() if e.model_id == "tr-logistic")
    v1, v2 = str(versions[0]), str(versions[-1])
    world.registry.set_status("tr-logistic", v2, "shadow", 1)
    return {"v1": v1, "v2": v2}


def _config(world: TradingWorld, l2: float) -> Any:
    from ghtrader.application.ports.models import TrainConfig

    return TrainConfig(horizon=10, params={"l2_path": [l2]})


def _equity(world: TradingWorld, run_id: str) -> float:
    state = json.loads((world.store.root / run_id / "state.json").read_text())
    return float(state["last_snapshot"]["equity"])


def _events(world: TradingWorld, run_id: str) -> list[dict[str, Any]]:
    return world.store.tail_events(run_id, 100_000)


def test_shadow_of_the_same_model_agrees_everywhere_and_earns_the_paper_book(
    world: TradingWorld, models: dict[str, str]
) -> None:
    v1 = models["v1"]
    run = world.start()(world.request(version=v1, max_ticks=500, shadow_model_id="tr-logistic", shadow_version=v1))
    status = run.run()
    shadow = status["shadow"]
    assert (
        status["status"] == "finished"
        and shadow["ticks"] == 500
        and shadow["agreed"] == 500
        and shadow["agreement"] == 1.0
    )
    assert shadow["disagreements"] == 0 and status["rolls"] == 1
    pnl = shadow["virtual_pnl"]
    assert pnl["shadow"] == pnl["production"] and pnl["production"]["trades"] > 0
    # one lot at mid: the production arm's book is the run's own paper book
    equity = _equity(world, run.run_id) - world.request().initial_balance
    assert pnl["production"]["pnl"] == pytest.approx(equity, abs=0.01)
    kinds = {e["kind"] for e in _events(world, run.run_id)}
    assert "shadow_decision" not in kinds
    config = world.store.read_config(run.run_id)
    assert config["shadow"]["model_id"] == "tr-logistic" and config["shadow"]["version"] == v1
    assert "shadow" in status["latency"]["stages"] and "canary" not in status["latency"]["stages"]


def test_shadow_defaults_to_the_version_in_shadow_and_logs_its_disagreements(
    world: TradingWorld, models: dict[str, str]
) -> None:
    run = world.start()(world.request(version=models["v1"], max_ticks=500, shadow_model_id="tr-logistic"))
    status = run.run()
    config = world.store.read_config(run.run_id)
    assert config["shadow"]["version"] == models["v2"] and config["shadow"]["status"] == "shadow"
    shadow = status["shadow"]
    events = _events(world, run.run_id)
    shadows = [e for e in events if e["kind"] == "shadow_decision"]
    assert len(shadows) == shadow["disagreements"] > 0 and shadow["agreed"] < 500
    # every shadow_decision names production's target at that tick (the last target_change before it)
    target = 0
    for e in events:
        if e["kind"] == "target_change":
            target = e["target"]
        elif e["kind"] == "roll":
            target = 0
        elif e["kind"] == "shadow_decision":
            assert e["production_target"] == target and e["shadow_target"] != target
    state = json.loads((world.store.root / run.run_id / "state.json").read_text())
    assert state["shadow"] == shadow


def test_shadow_without_a_version_in_shadow_is_refused_before_any_record(
    world: TradingWorld, models: dict[str, str]
) -> None:
    world.train(model_id="tr-other")
    before = set(world.store.list_runs())
    with pytest.raises(FailedPrecondition, match="no version in status shadow"):
        world.start()(world.request(shadow_model_id="tr-other"))
    assert set(world.store.list_runs()) == before


@dataclass
class ShadowGuardVenue(FakeVenue):
    """Fails the test on any order submitted from the shadow or canary modules' frames."""

    def submit(self, order: OrderRequest, time_ns: int) -> OrderState:
        files = [f.filename for f in traceback.extract_stack()]
        if any(f.endswith(("trading/shadow.py", "trading/arm_book.py")) for f in files):
            raise AssertionError("an order left from the shadow path")
        return super().submit(order, time_ns)


def test_sim_with_a_shadow_sends_exactly_production_s_orders(world: TradingWorld, models: dict[str, str]) -> None:
    plain_venue = FakeVenue()
    world.start(venue=plain_venue, risk=FakeRisk())(world.request(mode="sim", version=models["v1"])).run()
    venue = ShadowGuardVenue()
    req = world.request(mode="sim", version=models["v1"], shadow_model_id="tr-logistic")
    status = world.start(venue=venue, risk=FakeRisk())(req).run()
    assert status["shadow"]["disagreements"] > 0  # the shadow wanted other targets ...
    assert venue.submitted == plain_venue.submitted and venue.submitted  # ... and no order of its own left


def test_canary_is_refused_in_live(world: TradingWorld) -> None:
    with pytest.raises(InvalidArgument, match="paper and sim only"):
        world.request(mode="live", canary_model_id="tr-logistic").validate()


def test_canary_paper_run_routes_blocks_and_records_them(world: TradingWorld, models: dict[str, str]) -> None:
    req = world.request(version=models["v1"], max_ticks=600, canary_model_id="tr-logistic", canary_share=0.5,
                        canary_seed=5)  # fmt: skip
    run = world.start()(req)
    status = {**run.run(), "run_id": run.run_id}
    canary = status["canary"]
    assert status["status"] == "finished" and status["stop_reason"] == "max_ticks"
    assert canary["model"]["version"] == models["v2"] and canary["share"] == 0.5
    n = canary["blocks"]["production"] + canary["blocks"]["candidate"]
    events = _events(world, status["run_id"])
    blocks = [e for e in events if e["kind"] == "canary_block"]
    assert len(blocks) == n > 0 and {b["arm"] for b in blocks} <= {"production", "candidate"}
    # the executed PnL split by arm adds up to the run's PnL
    pnl = sum(canary["executed_pnl"].values())
    assert pnl == pytest.approx(_equity(world, status["run_id"]) - req.initial_balance, abs=0.05)
    # the same seed routes the same blocks
    again = world.start()(req).run()["canary"]
    assert again["blocks"] == canary["blocks"] and again["executed_pnl"] == canary["executed_pnl"]
    config = world.store.read_config(status["run_id"])
    assert config["canary"]["unit"] == "block" and config["canary"]["seed"] == 5
    assert {"canary", "canary_learn"} <= set(status["latency"]["stages"])


def test_canary_falls_back_on_a_degraded_candidate_and_production_takes_over(
    world: TradingWorld, models: dict[str, str]
) -> None:
    # every block to the candidate, judged block by block: the first block it trails in falls back
    req = world.request(version=models["v1"], max_ticks=600, canary_model_id="tr-logistic", canary_share=1.0,
                        canary_fallback_blocks=1)  # fmt: skip
    run = world.start()(req)
    status = {**run.run(), "run_id": run.run_id}
    canary = status["canary"]
    events = _events(world, status["run_id"])
    falls = [e for e in events if e["kind"] == "canary_fallback"]
    assert status["status"] == "finished" and status["stop_reason"] == "max_ticks"
    assert canary["fallen_back"] is True and len(falls) == 1 and falls[0]["mean_diff"] < 0
    at = events.index(falls[0])
    # after the fallback no block is drawn any more: production decides
    assert not [e for e in events[at:] if e["kind"] == "canary_block"]
    # ... and the targets after it are production's own: those of a run of production alone
    plain = world.start()(world.request(version=models["v1"], max_ticks=600))
    plain.run()
    fell_at = falls[0]["at_ns"]

    def changes(evs: list[dict[str, Any]]) -> list[tuple[int, int]]:
        return [(e["time_ns"], e["target"]) for e in evs if e["kind"] == "target_change" and e["time_ns"] > fell_at]

    assert changes(events) == changes(_events(world, plain.run_id)) != []


def test_canary_in_sim_attributes_the_account_s_pnl_to_the_arms(world: TradingWorld, models: dict[str, str]) -> None:
    venue = FakeVenue()
    req = world.request(mode="sim", version=models["v1"], max_ticks=600, canary_model_id="tr-logistic",
                        canary_share=0.5, canary_seed=2, canary_fallback_blocks=0)  # fmt: skip
    run = world.start(venue=venue, risk=FakeRisk())(req)
    status = run.run()
    canary = status["canary"]
    assert status["status"] == "finished" and canary["fallen_back"] is False and venue.submitted
    assert canary["blocks"]["candidate"] > 0 and canary["blocks"]["production"] > 0
    pnl = sum(canary["executed_pnl"].values())
    assert pnl == pytest.approx(_equity(world, run.run_id) - 1_000_000.0, abs=0.05)


def test_a_candidate_of_another_variety_is_refused(world: TradingWorld, models: dict[str, str]) -> None:
    from ghtrader.application.trading.candidates import _check_variety
    from ghtrader.domain.instruments import contract_spec

    _check_variety("m", "KQ.m@SHFE.cu", contract_spec("SHFE.cu2701"))
    with pytest.raises(FailedPrecondition, match="trained on SHFE.au"):
        _check_variety("m", "SHFE.au2612", contract_spec("SHFE.cu2701"))
