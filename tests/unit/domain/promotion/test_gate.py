"""PromotionGate: property tests (hypothesis) and the staged status moves."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader.domain.errors import DomainError
from ghtrader.domain.promotion import (
    MODEL_STATUSES,
    GateMetrics,
    GateThresholds,
    PromotionError,
    PromotionGate,
    allowed_transitions,
    check_transition,
    is_allowed,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
maybe = st.one_of(finite, st.just(math.nan), st.just(math.inf))
metrics = st.builds(
    GateMetrics,
    net_sharpe=maybe,
    max_drawdown=maybe,
    macro_f1=maybe,
    info_captured=maybe,
    ece=maybe,
    latency_us=maybe,
)
threshold = st.one_of(st.none(), st.floats(min_value=0, max_value=1e3, allow_nan=False))
thresholds = st.builds(
    GateThresholds,
    min_net_sharpe=st.one_of(st.none(), finite),
    max_drawdown=threshold,
    min_macro_f1_delta=st.one_of(st.none(), st.floats(min_value=-1, max_value=1)),
    min_info_captured_delta=st.one_of(st.none(), st.floats(min_value=-1, max_value=1)),
    max_ece=threshold,
    max_latency_us=threshold,
)
NAMES = ("net_sharpe", "max_drawdown", "macro_f1", "info_captured", "ece", "latency_us")


@settings(max_examples=300, deadline=None)
@given(candidate=metrics, incumbent=st.one_of(st.none(), metrics), t=thresholds)
def test_every_check_is_reported_and_promote_means_all_passed(
    candidate: GateMetrics, incumbent: GateMetrics | None, t: GateThresholds
) -> None:
    d = PromotionGate(t).decide(candidate, incumbent)
    assert tuple(c.name for c in d.checks) == NAMES
    assert d.promote == all(c.passed for c in d.checks)
    assert (d.decision == "keep") == bool(d.failed)
    for c in d.checks:
        assert c.reason.startswith(c.name)
        if c.threshold is None:
            assert c.passed  # an off check never blocks
    if not d.promote:
        assert all(c.reason in d.summary() for c in d.failed)
    doc = d.to_dict()
    assert doc["decision"] == d.decision and len(doc["checks"]) == len(NAMES)


@settings(max_examples=300, deadline=None)
@given(candidate=metrics, incumbent=st.one_of(st.none(), metrics), t=thresholds)
def test_an_unmeasured_candidate_metric_fails_its_active_check(
    candidate: GateMetrics, incumbent: GateMetrics | None, t: GateThresholds
) -> None:
    d = PromotionGate(t).decide(candidate, incumbent)
    for c in d.checks:
        if c.threshold is not None and not math.isfinite(getattr(candidate, c.name)):
            assert not c.passed and c.value is None


@settings(max_examples=300, deadline=None)
@given(candidate=metrics, incumbent=metrics, t=thresholds, better=st.floats(min_value=0, max_value=10))
def test_improving_a_metric_never_turns_promote_into_keep(
    candidate: GateMetrics, incumbent: GateMetrics, t: GateThresholds, better: float
) -> None:
    """Monotone: a candidate at least as good on every metric gets at least the same decision."""
    from dataclasses import replace

    d = PromotionGate(t).decide(candidate, incumbent)
    improved = replace(
        candidate,
        net_sharpe=candidate.net_sharpe + better,
        max_drawdown=max(candidate.max_drawdown - better, 0.0)
        if candidate.max_drawdown >= 0
        else candidate.max_drawdown,
        macro_f1=candidate.macro_f1 + better,
        info_captured=candidate.info_captured + better,
        ece=max(candidate.ece - better, 0.0) if candidate.ece >= 0 else candidate.ece,
        latency_us=max(candidate.latency_us - better, 0.0) if candidate.latency_us >= 0 else candidate.latency_us,
    )
    if d.promote:
        assert PromotionGate(t).decide(improved, incumbent).promote


@settings(max_examples=200, deadline=None)
@given(m=metrics.filter(lambda m: all(math.isfinite(getattr(m, n)) for n in NAMES)))
def test_a_candidate_equal_to_the_incumbent_passes_the_comparisons_at_zero_delta(m: GateMetrics) -> None:
    d = PromotionGate(GateThresholds(max_ece=None)).decide(m, m)
    assert d.promote


def test_worse_than_incumbent_is_kept_with_reasons() -> None:
    inc = GateMetrics(net_sharpe=1.0, max_drawdown=10, macro_f1=0.45, info_captured=0.4, ece=0.02, latency_us=80)
    cand = GateMetrics(net_sharpe=1.0, max_drawdown=10, macro_f1=0.30, info_captured=0.1, ece=0.2, latency_us=80)
    d = PromotionGate(GateThresholds(max_ece=0.05)).decide(cand, inc)
    assert d.decision == "keep"
    assert [c.name for c in d.failed] == ["macro_f1", "info_captured", "ece"]
    f1 = d.failed[0]
    assert f1.value == 0.30 and f1.incumbent == 0.45 and f1.threshold == 0.0
    assert "vs incumbent 0.45" in f1.reason


def test_absolute_floors_and_ceilings() -> None:
    t = GateThresholds(min_net_sharpe=0.5, max_drawdown=1000.0, max_latency_us=250.0, max_ece=0.05)
    good = GateMetrics(net_sharpe=0.6, max_drawdown=999, macro_f1=0.4, info_captured=0.3, ece=0.05, latency_us=250)
    assert PromotionGate(t).decide(good, None).promote
    from dataclasses import replace

    for name, bad in (("net_sharpe", 0.49), ("max_drawdown", 1001.0), ("latency_us", 251.0), ("ece", 0.051)):
        d = PromotionGate(t).decide(replace(good, **{name: bad}), None)
        assert [c.name for c in d.failed] == [name]


def test_no_incumbent_passes_comparisons_but_not_missing_values() -> None:
    d = PromotionGate().decide(GateMetrics(macro_f1=0.4, ece=0.01), None)
    assert [c.name for c in d.failed] == ["info_captured"]
    assert "not measured" in d.failed[0].reason


def test_thresholds_are_validated() -> None:
    with pytest.raises(DomainError):
        GateThresholds(max_ece=-0.1)
    with pytest.raises(DomainError):
        GateThresholds(min_net_sharpe=math.nan)
    assert GateMetrics.from_mapping({"macro_f1": 0.3, "ece": None, "other": 1}).macro_f1 == 0.3


def test_staged_statuses_move_one_step_and_production_only_by_promotion() -> None:
    assert MODEL_STATUSES == ("development", "staging", "shadow", "production", "retired")
    assert is_allowed("development", "staging") and is_allowed("staging", "shadow")
    assert not is_allowed("development", "shadow")
    for s in MODEL_STATUSES:
        assert "production" not in allowed_transitions(s, "manual")
    for s in ("development", "staging", "shadow"):
        check_transition(s, "production", "promote")
    with pytest.raises(PromotionError, match="promote"):
        check_transition("retired", "production", "promote")
    check_transition("retired", "production", "rollback")
    check_transition("production", "retired", "replace")
    with pytest.raises(PromotionError, match="not allowed"):
        check_transition("development", "production")
    with pytest.raises(PromotionError, match="unknown"):
        check_transition("development", "live")
