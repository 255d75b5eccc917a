"""ModelPromotion: gate-driven promote, forced promote, rollback, manual moves, history."""

from __future__ import annotations

import pytest

from ghtrader.adapters.memory import InMemoryModelRegistry
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.models import RegistryEntry, StatusChange
from ghtrader.application.research.promotion import ModelPromotion, PromoteRequest, RollbackRequest
from ghtrader.domain.promotion import GateMetrics, GateThresholds
from tests.fakes.system import FakeClock

MID = "lightgbm-KQ.m@SHFE.cu-h10"
GOOD = GateMetrics(net_sharpe=1.2, max_drawdown=500, macro_f1=0.45, info_captured=0.4, ece=0.02, latency_us=90)
WORSE = GateMetrics(net_sharpe=0.1, max_drawdown=900, macro_f1=0.30, info_captured=0.05, ece=0.03, latency_us=90)


def _world(n: int = 3) -> tuple[InMemoryModelRegistry, ModelPromotion, FakeClock]:
    registry = InMemoryModelRegistry()
    for v in range(1, n + 1):
        registry.register(
            RegistryEntry(MID, str(v), "lightgbm", "development", f"artifacts/{v}", "h", {"macro_f1": 0.4, "ece": 0.02})
        )
    clock = FakeClock()
    return registry, ModelPromotion(registry=registry, clock=clock), clock


def _statuses(registry: InMemoryModelRegistry) -> list[str]:
    return [e.status for e in registry.list()]


def test_first_promotion_passes_the_gate_and_is_recorded() -> None:
    registry, uc, _ = _world()
    r = uc.promote(PromoteRequest(MID, "1", actor="test", candidate_metrics=GOOD))
    assert r.promoted and not r.forced and r.previous_production is None
    assert _statuses(registry) == ["production", "development", "development"]
    (change,) = uc.history(MID)
    assert (change.version, change.from_status, change.to_status, change.actor) == (
        "1",
        "development",
        "production",
        "test",
    )
    assert change.decision["decision"] == "promote" and len(change.decision["checks"]) == 6


def test_a_worse_candidate_is_kept_with_reasons_and_rejected_when_asked() -> None:
    registry, uc, _ = _world()
    uc.promote(PromoteRequest(MID, "1", candidate_metrics=GOOD))
    r = uc.promote(PromoteRequest(MID, "2", candidate_metrics=WORSE, incumbent_metrics=GOOD, reject_to="retired"))
    assert not r.promoted and r.decision.decision == "keep"
    assert {c.name for c in r.decision.failed} == {"macro_f1", "info_captured"}
    assert _statuses(registry) == ["production", "retired", "development"]
    last = uc.history(MID)[-1]
    assert last.to_status == "retired" and "kept out of production" in last.reason and "macro_f1" in last.reason
    assert last.decision["decision"] == "keep"
    # without reject_to nothing changes and nothing is logged
    r = uc.promote(PromoteRequest(MID, "3", candidate_metrics=WORSE, incumbent_metrics=GOOD))
    assert not r.promoted and r.changes == [] and len(uc.history(MID)) == 2


def test_promotion_retires_the_old_production_version_in_one_batch() -> None:
    registry, uc, clock = _world()
    uc.promote(PromoteRequest(MID, "1", candidate_metrics=GOOD))
    clock.now += 1_000_000
    r = uc.promote(PromoteRequest(MID, "2", candidate_metrics=GOOD, incumbent_metrics=WORSE, reason="better"))
    assert r.promoted and r.previous_production == "1"
    assert _statuses(registry) == ["retired", "production", "development"]
    h = uc.history(MID)
    assert [(c.version, c.to_status) for c in h] == [("1", "production"), ("1", "retired"), ("2", "production")]
    assert h[1].reason.startswith("replaced by v2") and h[1].at_ns == h[2].at_ns


def test_force_needs_a_reason_and_records_the_failed_gate() -> None:
    registry, uc, _ = _world()
    uc.promote(PromoteRequest(MID, "1", candidate_metrics=GOOD))
    with pytest.raises(InvalidArgument, match="reason"):
        uc.promote(PromoteRequest(MID, "2", force=True, candidate_metrics=WORSE))
    r = uc.promote(
        PromoteRequest(MID, "2", force=True, reason="hotfix", candidate_metrics=WORSE, incumbent_metrics=GOOD)
    )
    assert r.promoted and r.forced and r.decision.decision == "keep"
    assert _statuses(registry) == ["retired", "production", "development"]
    last = uc.history(MID)[-1]
    assert last.decision["forced"] is True and "forced" in last.reason and "hotfix" in last.reason


def test_gate_metrics_come_from_the_newest_recorded_evaluation() -> None:
    registry, uc, _ = _world()
    evaluation = {"test_days": "2026-01-05..2026-01-06", "models": {"1": GOOD.to_dict()}}
    registry.change_statuses(
        [StatusChange(MID, "1", "development", "staging", "evaluated", "daily-train", 1, {"evaluation": evaluation})]
    )
    r = uc.promote(PromoteRequest(MID, "1"))
    assert r.promoted and "evaluation of daily-train" in r.metrics_source
    # v2 has no evaluation: its registry metrics lack info_captured, so the default gate keeps it
    r = uc.promote(PromoteRequest(MID, "2"))
    assert not r.promoted and r.metrics_source.startswith("registry metrics")
    assert "info_captured not measured" in r.decision.summary()
    off = GateThresholds(min_info_captured_delta=None, min_macro_f1_delta=None)
    assert uc.promote(PromoteRequest(MID, "2", thresholds=off)).promoted


def test_rollback_restores_a_version_that_served_before() -> None:
    registry, uc, _ = _world()
    uc.promote(PromoteRequest(MID, "1", candidate_metrics=GOOD))
    uc.promote(PromoteRequest(MID, "2", candidate_metrics=GOOD, incumbent_metrics=GOOD))
    with pytest.raises(FailedPrecondition, match="never served"):
        uc.rollback(RollbackRequest(MID, "3"))
    with pytest.raises(FailedPrecondition, match="already in production"):
        uc.rollback(RollbackRequest(MID, "2"))
    with pytest.raises(NotFound):
        uc.rollback(RollbackRequest(MID, "9"))
    changes = uc.rollback(RollbackRequest(MID, "1", reason="v2 misbehaves", actor="cli"))
    assert [(c.version, c.to_status) for c in changes] == [("2", "retired"), ("1", "production")]
    assert _statuses(registry) == ["production", "retired", "development"]
    assert uc.history(MID)[-1].reason == "rollback from v2: v2 misbehaves"


def test_manual_moves_follow_the_stages_and_never_reach_production() -> None:
    registry, uc, _ = _world(1)
    assert uc.set_status(MID, "1", "staging", actor="cli").status == "staging"
    assert uc.set_status(MID, "1", "shadow").status == "shadow"
    with pytest.raises(FailedPrecondition, match="promote"):
        uc.set_status(MID, "1", "production")
    with pytest.raises(InvalidArgument, match="status"):
        uc.set_status(MID, "1", "live")
    assert [(c.from_status, c.to_status) for c in uc.history(MID)] == [
        ("development", "staging"),
        ("staging", "shadow"),
    ]
    uc.set_status(MID, "1", "retired")
    with pytest.raises(FailedPrecondition, match="not allowed"):
        uc.promote(PromoteRequest(MID, "1", candidate_metrics=GOOD))
