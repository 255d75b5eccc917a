"""The regime gate: its states equal the batch ``hmm-filter`` decode on the same ticks; inside a
sim run a zero scale keeps the target at 0 while its regime holds, a cap clips it, changes are
journaled and the status carries the regime; bad configurations are refused before any record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ghtrader.adapters.changepoints import RupturesPeltSegmenter
from ghtrader.adapters.filesystem.regime_models import FilesystemRegimeModelStore
from ghtrader.adapters.hmm import HmmlearnRegimeFitter
from ghtrader.adapters.memory import InMemoryTickStore
from ghtrader.adapters.memory.regime_store import InMemoryRegimeStateStore
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.stores import TickBatch
from ghtrader.application.regimes import DecodeRegimes, DecodeRequest, FitRegimeModel, FitRequest
from ghtrader.application.regimes.models import RegimeModel
from ghtrader.application.trading.regime_gate import RegimeGate
from ghtrader.application.trading.risk_setup import risk_engine_factory
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.microsim.codes import OPEN
from ghtrader.domain.regimes import ObservationConfig
from ghtrader.domain.ticks import row_hash
from tests.fakes.system import FakeClock

from .world import DAY1, DAY3, FIT_DAY, MAIN, OLD, FakeRisk, FakeVenue, TradingWorld, _CalendarOf

OBS = ObservationConfig(window=40, min_periods=10)


@pytest.fixture(scope="module")
def models(world: TradingWorld, tmp_path_factory: pytest.TempPathFactory) -> FilesystemRegimeModelStore:
    """A 3-state HMM fitted on the world's main_l5 ticks, saved as ``cu-hmm3``."""
    store = FilesystemRegimeModelStore(Path(tmp_path_factory.mktemp("regimes")))
    fit = FitRegimeModel(ticks=world.tick_store, fitter=HmmlearnRegimeFitter(), models=store, clock=FakeClock())
    fit(FitRequest(MAIN, FIT_DAY, DAY3, n_states=3, seeds=(0,), n_iter=30, observation=OBS, model_id="cu-hmm3"))
    return store


def _sim(world: TradingWorld, models: FilesystemRegimeModelStore, **kw: Any) -> tuple[Any, FakeVenue, list[dict]]:
    venue = FakeVenue()
    run = world.start(venue=venue, risk=FakeRisk(max_position=10), regime_models=models)(
        world.request(mode="sim", max_ticks=1500, **kw)
    )
    run.run()
    return run, venue, world.store.tail_events(run.run_id, 0)


def _regime_at_targets(events: list[dict]) -> list[tuple[str, int]]:
    """(regime in force, target) of each target_change, the regime from the last regime_change before it."""
    now, out = "", []
    for e in events:
        if e["kind"] == "regime_change":
            now = e["to"]
        elif e["kind"] == "target_change":
            out.append((now, int(e["target"])))
    return out


def test_the_gate_states_equal_the_batch_hmm_filter_decode_on_the_same_ticks(world, models) -> None:
    days = [FIT_DAY, DAY1]
    parts = [world.market.ticks(OLD, d) for d in days]
    ticks = np.concatenate(parts)
    tday = np.concatenate([np.full(p.shape[0], np.datetime64(d, "D")) for p, d in zip(parts, days, strict=True)])
    raw = InMemoryTickStore()
    raw.write_ticks(TickBatch(OLD, "raw", ticks, tday, row_hash(ticks)))
    states = InMemoryRegimeStateStore()
    decode = DecodeRegimes(
        ticks=raw, models=models, states=states, segmenter=RupturesPeltSegmenter(), clock=FakeClock()
    )
    decoded = decode(DecodeRequest(OLD, days[0], days[-1], method="hmm-filter", model_id="cu-hmm3"))
    batch = states.read_states(OLD, "hmm-filter", decoded.model_config_hash, days[0], days[-1])
    assert len(batch) == ticks.shape[0]

    gate = RegimeGate(RegimeModel.from_payload(models.load_model("cu-hmm3")), {})
    online_ids, online_probs = [], []
    for i in range(ticks.shape[0]):
        gate.update(ticks[i], tday[i].item(), OLD, live=False)
        online_ids.append(int(gate.regime.removeprefix("hmm_")))
        online_probs.append(gate.probabilities.copy())
    np.testing.assert_array_equal(np.asarray(online_ids), batch.regime_id)
    np.testing.assert_allclose(np.asarray(online_probs), batch.probabilities, rtol=0, atol=1e-12)
    assert len(np.unique(batch.regime_id)) >= 2, "one regime only: the parity would prove little"


def test_a_zero_scale_holds_the_target_at_zero_in_its_regime_and_changes_are_journaled(world, models) -> None:
    base_run, base_venue, base = _sim(world, models, regime_model="cu-hmm3")  # all scales 1: sizes as before
    plain_run, plain_venue, _ = _sim(world, models)  # no gate
    assert [o.__dict__ for o in base_venue.submitted] == [o.__dict__ for o in plain_venue.submitted]
    seen = _regime_at_targets(base)
    # the regime most often in force at a non-zero target of the ungated run: zero it
    busy = max({r for r, t in seen if t}, key=lambda r: sum(1 for x, t in seen if x == r and t))

    run, venue, events = _sim(world, models, regime_model="cu-hmm3", regime_scales={busy: 0.0})
    gated = _regime_at_targets(events)
    assert all(t == 0 for r, t in gated if r == busy)
    assert any(t != 0 for r, t in gated if r != busy), "the other regimes traded nothing"
    assert len(venue.submitted) < len(base_venue.submitted)
    changes = [e for e in events if e["kind"] == "regime_change"]
    assert len(changes) >= 2 and changes[0]["from"] == "" and all(c["from"] != c["to"] for c in changes[1:])
    assert all(len(c["probabilities"]) == 3 and abs(sum(c["probabilities"]) - 1) < 1e-5 for c in changes)
    state = run.journal.status["regime"]
    assert state["model_id"] == "cu-hmm3" and state["regime"] == changes[-1]["to"]
    assert state["changes"] == len(changes) and set(state["probabilities"]) == {"hmm_0", "hmm_1", "hmm_2"}
    config = world.store.read_config(run.run_id)["regime"]
    assert config["on"] and config["scales"][busy] == 0.0


def test_all_scales_zero_sends_no_order_and_a_cap_clips_the_size(world, models) -> None:
    zero = {f"hmm_{k}": 0.0 for k in range(3)}
    _, venue, events = _sim(world, models, regime_model="cu-hmm3", regime_scales=zero)
    assert not venue.submitted and not [e for e in events if e["kind"] == "target_change"]
    assert [e for e in events if e["kind"] == "regime_change"]

    _, _, sized = _sim(world, models, regime_model="cu-hmm3", max_lots=3, regime_max_lots={"hmm_0": 1, "hmm_1": 1})
    seen = _regime_at_targets(sized)
    assert {abs(t) for r, t in seen if r in ("hmm_0", "hmm_1")} <= {0, 1}
    assert any(abs(t) == 3 for r, t in seen if r == "hmm_2") or not any(r == "hmm_2" for r, _ in seen)
    assert any(abs(t) == 1 for r, t in seen), "the cap was never in force at a signal"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"regime_scales": {"volatile": 0.0}}, "unknown regime(s) volatile"),
        ({"regime_scales": {"hmm_0": -1.0}}, "hmm_0 must be a finite number >= 0"),
        ({"regime_scales": {"hmm_1": float("nan")}}, "hmm_1 must be a finite number >= 0"),
        ({"regime_max_lots": {"hmm_3": 1}}, "regime_max_lots: unknown regime(s) hmm_3"),
        ({"regime_max_lots": {"hmm_2": -1}}, "whole number of lots >= 0"),
        ({"regime_stress_scales": {"hmm_1": 2.0}}, "need the pre-trade stress check"),
        (
            {"mode": "sim", "risk_limits": {"stress_loss_limit": 1e6}, "regime_stress_scales": {"hmm_1": 0.0}},
            "hmm_1 must be a finite number > 0",
        ),
    ],
)
def test_bad_regime_configs_are_refused_before_the_run_has_records(world, models, kw, message) -> None:
    before = len(world.store.list_runs())
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(").replace(")", r"\)")):
        world.start(regime_models=models, venue=FakeVenue(), risk=FakeRisk())(
            world.request(regime_model="cu-hmm3", **kw)
        )
    assert len(world.store.list_runs()) == before


def test_scales_without_a_model_an_unknown_model_or_another_variety_are_refused(world, models) -> None:
    with pytest.raises(InvalidArgument, match="need a regime_model"):
        world.start(regime_models=models)(world.request(regime_scales={"hmm_0": 0.0}))
    with pytest.raises(NotFound, match="no regime model 'nope'"):
        world.start(regime_models=models)(world.request(regime_model="nope"))
    gold = {**models.load_model("cu-hmm3"), "model_id": "au-hmm3", "symbol": "KQ.m@SHFE.au"}
    models.save_model("au-hmm3", gold)
    with pytest.raises(InvalidArgument, match="fitted on KQ.m@SHFE.au, not on SHFE.cu"):
        world.start(regime_models=models)(world.request(regime_model="au-hmm3"))
    assert contract_spec(MAIN).key == "SHFE.cu"


def _stressed(world: TradingWorld, models: FilesystemRegimeModelStore, **kw: Any) -> tuple[FakeVenue, list[dict], Any]:
    limits = {"max_daily_loss": 1e9, "max_drawdown": 1e9, "per_symbol_loss_limit": 1e9,
              "max_consecutive_losses": 1000, "stress_loss_limit": 1e6}  # fmt: skip
    venue = FakeVenue()
    risk = risk_engine_factory(_CalendarOf(world.market))(limits, contract_spec(OLD))
    run = world.start(venue=venue, risk=risk, regime_models=models)(
        world.request(mode="sim", max_ticks=1500, risk_limits=limits, risk_horizon_s=600.0, **kw)
    )
    run.run()
    return venue, world.store.tail_events(run.run_id, 0), run


def test_a_regime_stress_scale_makes_the_stress_check_stricter_in_that_regime(world, models) -> None:
    venue, _, _ = _stressed(world, models, regime_model="cu-hmm3", regime_stress_scales={"hmm_0": 1.0})
    assert any(o.offset == OPEN for o in venue.submitted), "a 1e6 CNY stress limit refused every opening"
    every = {f"hmm_{k}": 1e6 for k in range(3)}  # a million sigmas: no position passes in any regime
    strict, events, run = _stressed(world, models, regime_model="cu-hmm3", regime_stress_scales=every)
    assert not any(o.offset == OPEN for o in strict.submitted)
    refusals = [e["reason"] for e in events if e["kind"] == "risk_refused"]
    assert refusals and all(r.startswith("stress:") for r in refusals)
    assert run.journal.status["regime"]["stress_scale"] == 1e6
    assert world.store.read_config(run.run_id)["regime"]["stress_scales"] == every
