"""Order-enabled modes against a fake venue and a fake risk engine, and the live gate."""

from __future__ import annotations

import pytest

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.trading.request import CONFIRM_LIVE

from .world import DAY1, NEW, OLD, START_NS, FakeRisk, FakeVenue, TradingWorld, bj


def _kinds(world: TradingWorld, run_id: str) -> list[str]:
    return [e["kind"] for e in world.store.tail_events(run_id, 0)]


def test_sim_checks_every_order_with_the_risk_engine_and_trades_the_execution_contract(world: TradingWorld) -> None:
    venue, risk = FakeVenue(), FakeRisk(max_position=1)
    run = world.start(venue=venue, risk=risk)(world.request(mode="sim", max_ticks=1500))
    status = run.run()
    assert status["status"] == "finished"
    assert venue.submitted, "the policy traded nothing: the test world is too quiet"
    # every order was checked first (flatten orders of a roll or kill are the only exemption)
    assert all(o in risk.checks for o in venue.submitted)
    assert {o.symbol for o in venue.submitted} <= {OLD, NEW}
    assert max(abs(venue.net(OLD)), abs(venue.net(NEW))) <= 1 and risk.fills > 0
    kinds = _kinds(world, run.run_id)
    assert {"order_new", "order_update", "order_done", "trade_fill", "roll"} <= set(kinds)
    assert risk.days, "the risk engine was told of the new trading day"
    # a target change on the old contract never leaves an order for it after the roll
    events = world.store.tail_events(run.run_id, 0)
    roll = next(i for i, e in enumerate(events) if e["kind"] == "roll")
    assert all(e["order"]["symbol"] == NEW for e in events[roll:] if e["kind"] == "order_new")


def test_a_roll_flattens_the_old_contract_first(world: TradingWorld) -> None:
    venue, risk = FakeVenue(), FakeRisk()
    # hold every signal for the whole day and never force flat: a position is open at the roll
    run = world.start(venue=venue, risk=risk)(world.request(mode="sim", max_ticks=400, hold_rows=10**6, flat_s=0.0))
    run.run()
    events = world.store.tail_events(run.run_id, 0)
    roll = next(i for i, e in enumerate(events) if e["kind"] == "roll")
    before = events[:roll]
    closing = [e for e in before if e["kind"] == "trade_fill" and e["order"]["offset"] == "CLOSETODAY"
               and e["time_ns"] >= bj(2026, 11, 23, 21, 0)]  # fmt: skip
    assert closing, "no position was closed at the roll"
    assert venue.net(OLD) == 0 and "roll_flatten_failed" not in [e["kind"] for e in events]


def test_a_roll_that_cannot_flatten_is_reported_and_halts(world: TradingWorld) -> None:
    venue = FakeVenue(fill_until_ns=bj(2026, 11, 23, 15, 0))  # the book stops filling at DAY1's close
    risk = FakeRisk()
    run = world.start(venue=venue, risk=risk)(world.request(mode="sim", max_ticks=300, hold_rows=10**6, flat_s=0.0))
    run.run()
    kinds = _kinds(world, run.run_id)
    assert venue.net(OLD) != 0
    assert "roll_flatten_failed" in kinds and kinds.index("roll_flatten_failed") < kinds.index("roll")
    assert any(c.startswith("halt:") for c in risk.calls)


def test_risk_kill_cancels_flattens_and_stops(world: TradingWorld) -> None:
    kill_at = START_NS + 5 * 60 * 10**9
    venue = FakeVenue(marks=lambda ns: -2e6 if ns >= kill_at else 0.0)
    risk = FakeRisk(kill_below=0.0)
    run = world.start(venue=venue, risk=risk)(
        world.request(mode="sim", max_ticks=0, hold_rows=10**6, flat_s=0.0, snapshot_every_s=10)
    )
    status = run.run()
    assert status["stop_reason"] == "risk_kill"
    events = world.store.tail_events(run.run_id, 0)
    kill = next(i for i, e in enumerate(events) if e["kind"] == "risk_kill")
    assert events[kill]["time_ns"] >= kill_at
    assert venue.net(OLD) == 0 and venue.orders_alive() == []
    assert not any(e["kind"] == "order_new" and e["order"]["offset"] == "OPEN" for e in events[kill:])


def test_operator_flatten_reduces_only_and_closes(world: TradingWorld) -> None:
    venue, risk = FakeVenue(), FakeRisk()
    run = world.start(venue=venue, risk=risk)(world.request(mode="sim", max_ticks=0, hold_rows=10**6, flat_s=0.0,
                                                            end_ns=bj(2026, 11, 23, 14, 59)))  # fmt: skip
    world.store.append_command(run.run_id, {"command": "flatten"})
    run.run()
    assert "reduce_only" in risk.calls
    assert "signals_disabled" in _kinds(world, run.run_id)
    events = world.store.tail_events(run.run_id, 0)
    at = next(i for i, e in enumerate(events) if e["kind"] == "operator_command")
    assert not any(e["kind"] == "order_new" and e["order"]["offset"] == "OPEN" for e in events[at:])
    assert venue.net(OLD) == 0


# --- the gate ----------------------------------------------------------------------------------------
def test_live_refuses_unless_enabled(world: TradingWorld) -> None:
    with pytest.raises(FailedPrecondition, match="GHTRADER_LIVE_ENABLED"):
        world.start(venue=FakeVenue(fail_on_submit=True), risk=FakeRisk(), credentials=True)(
            world.request(mode="live", confirm_live=CONFIRM_LIVE)
        )


@pytest.mark.parametrize("confirm", ["", "yes", "i_understand"])
def test_live_refuses_without_the_confirmation(world: TradingWorld, confirm: str) -> None:
    with pytest.raises(FailedPrecondition, match="--confirm-live I_UNDERSTAND"):
        world.start(venue=FakeVenue(fail_on_submit=True), risk=FakeRisk(), live_enabled=True, credentials=True)(
            world.request(mode="live", confirm_live=confirm)
        )


def test_live_refuses_without_credentials(world: TradingWorld) -> None:
    with pytest.raises(FailedPrecondition, match="credentials"):
        world.start(venue=FakeVenue(fail_on_submit=True), risk=FakeRisk(), live_enabled=True)(
            world.request(mode="live", confirm_live=CONFIRM_LIVE)
        )


def test_live_with_every_step_routes_orders(world: TradingWorld) -> None:
    venue = FakeVenue()
    run = world.start(venue=venue, risk=FakeRisk(), live_enabled=True, credentials=True)(
        world.request(mode="live", confirm_live=CONFIRM_LIVE, max_ticks=1500)
    )
    run.run()
    assert venue.submitted


def test_monitor_only_needs_credentials_not_the_confirmation_and_never_submits(world: TradingWorld) -> None:
    with pytest.raises(FailedPrecondition, match="credentials"):
        world.start(venue=FakeVenue(fail_on_submit=True))(world.request(mode="live", monitor_only=True))
    venue = FakeVenue(fail_on_submit=True)
    run = world.start(venue=venue, credentials=True)(world.request(mode="live", monitor_only=True, max_ticks=1500))
    status = run.run()
    assert status["status"] == "finished" and venue.submitted == []
    kinds = _kinds(world, run.run_id)
    assert "target_change" in kinds and "order_new" not in kinds
    config = world.store.read_config(run.run_id)
    assert config is not None and config["monitor_only"] is True and config["order_enabled"] is False


def test_monitor_only_is_for_live_mode(world: TradingWorld) -> None:
    with pytest.raises(InvalidArgument, match="monitor_only"):
        world.start()(world.request(mode="paper", monitor_only=True))


def test_sim_without_an_executor_or_risk_engine_refuses(world: TradingWorld) -> None:
    with pytest.raises(FailedPrecondition, match="sim executor not available"):
        world.start()(world.request(mode="sim"))
    with pytest.raises(FailedPrecondition, match="risk engine not available"):
        world.start(venue=FakeVenue())(world.request(mode="sim"))


def test_a_policy_fit_without_ticks_is_a_recorded_preflight_failure(world: TradingWorld) -> None:
    before = set(world.store.list_runs())
    with pytest.raises(FailedPrecondition, match="no main_l5 ticks"):
        world.start()(world.request(replay_from_ns=bj(2026, 11, 20, 10, 0)))  # fit day 11-19: nothing stored
    (new,) = set(world.store.list_runs()) - before
    assert _kinds(world, new) == ["preflight_failed"]
    state = world.store.read_state(new)
    assert state is not None and state["status"] == "failed"
    assert DAY1  # noqa: B018 - the world's days are used above through bj()
