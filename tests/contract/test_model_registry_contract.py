"""ModelRegistry contract (``ghtrader_model_registry_v2``): insert-only versions, JSON metrics,
status changes with their stamps, filters - the same on every backend."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.models import ModelRegistry, RegistryEntry, StatusChange
from ghtrader.application.ports.stores import StoreBundle

T0 = 1_767_225_600_123_456_789  # 2026-01-01 00:00:00.123456789 UTC


@pytest.fixture
def registry(stores: StoreBundle) -> ModelRegistry:
    return stores.models


def _entry(model_id: str = "lightgbm-SHFE.cu-h10", version: str = "1", **kw: object) -> RegistryEntry:
    base = RegistryEntry(
        model_id=model_id,
        version=version,
        model_type="lightgbm",
        status="development",
        artifact_path=f"artifacts/models/lightgbm/{version}",
        config_hash="ab" * 32,
        metrics={"accuracy": 0.5, "macro_f1": 0.41, "n_valid": 1200, "classes": ["DOWN", "FLAT", "UP"]},
        created_at_ns=T0,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def test_register_then_get_round_trips_every_field(registry: ModelRegistry) -> None:
    assert registry.get("lightgbm-SHFE.cu-h10", "1") is None
    e = _entry()
    registry.register(e)
    got = registry.get(e.model_id, "1")
    assert got is not None
    assert got == replace(e, created_at_ns=T0 - T0 % 1000)  # stored to the microsecond
    assert got.promoted_at_ns is None and got.retired_at_ns is None


def test_register_refuses_an_existing_version_and_keeps_the_first(registry: ModelRegistry) -> None:
    registry.register(_entry())
    with pytest.raises(FailedPrecondition, match="already registered"):
        registry.register(_entry(artifact_path="elsewhere", metrics={"accuracy": 0.9}))
    got = registry.get("lightgbm-SHFE.cu-h10", "1")
    assert got is not None and got.artifact_path == "artifacts/models/lightgbm/1"
    assert got.metrics["accuracy"] == 0.5
    registry.register(_entry(version="2"))  # a new version is fine
    assert [x.version for x in registry.list()] == ["1", "2"]


def test_versions_are_whole_numbers(registry: ModelRegistry) -> None:
    for bad in ("", "v1", "1.5", "0", "-3", str(2**31)):
        with pytest.raises(InvalidArgument, match="version"):
            registry.register(_entry(version=bad))
    assert registry.list() == []
    registry.register(_entry(version="010"))
    got = registry.get("lightgbm-SHFE.cu-h10", "10")
    assert got is not None and got.version == "10"


def test_metrics_come_back_as_json(registry: ModelRegistry) -> None:
    metrics = {
        "accuracy": np.float32(0.25),
        "n": np.int64(7),
        "logloss": float("nan"),
        "per_class": (0.1, 0.2, float("inf")),
        "by_session": {"day": {"f1": 0.3}, "night": {"f1": None}},
        "ok": np.bool_(True),
    }
    registry.register(_entry(metrics=metrics))
    got = registry.get("lightgbm-SHFE.cu-h10", "1")
    assert got is not None
    m = got.metrics
    assert math.isclose(m["accuracy"], 0.25) and m["n"] == 7 and isinstance(m["n"], int)
    assert m["logloss"] is None and m["per_class"] == [0.1, 0.2, None]
    assert m["by_session"] == {"day": {"f1": 0.3}, "night": {"f1": None}} and m["ok"] is True
    with pytest.raises(InvalidArgument, match="not JSON"):
        registry.register(_entry(version="2", metrics={"bad": object()}))
    assert registry.get("lightgbm-SHFE.cu-h10", "2") is None


def test_created_at_zero_is_stamped_now(registry: ModelRegistry) -> None:
    import time

    before = time.time_ns() - 5_000_000_000
    registry.register(_entry(created_at_ns=0))
    got = registry.get("lightgbm-SHFE.cu-h10", "1")
    assert got is not None and got.created_at_ns > before


def test_list_filters_and_orders(registry: ModelRegistry) -> None:
    registry.register(_entry("b-model", "2"))
    registry.register(_entry("b-model", "10"))
    registry.register(_entry("a-model", "3", model_type="logistic"))
    registry.register(_entry("b-model", "1", status="staging"))
    assert [(e.model_id, e.version) for e in registry.list()] == [
        ("a-model", "3"),
        ("b-model", "1"),
        ("b-model", "2"),
        ("b-model", "10"),
    ]
    assert [e.model_id for e in registry.list(model_type="logistic")] == ["a-model"]
    assert [e.version for e in registry.list(status="staging")] == ["1"]
    assert [e.version for e in registry.list(model_type="lightgbm", status="development")] == ["2", "10"]
    assert registry.list(model_type="nope") == []
    with pytest.raises(InvalidArgument, match="status"):
        registry.list(status="live")


def test_set_status_stamps_promotion_and_retirement(registry: ModelRegistry) -> None:
    registry.register(_entry())
    staged = registry.set_status("lightgbm-SHFE.cu-h10", "1", "staging", T0 + 1_000)
    assert staged.status == "staging" and staged.promoted_at_ns is None
    promoted = registry.set_status("lightgbm-SHFE.cu-h10", "1", "production", T0 + 2_000_999)
    assert promoted.status == "production" and promoted.promoted_at_ns == T0 + 2_000_999 - (T0 + 2_000_999) % 1000
    retired = registry.set_status("lightgbm-SHFE.cu-h10", "1", "retired", T0 + 9_000_000)
    assert retired.retired_at_ns == T0 + 9_000_000 - (T0 + 9_000_000) % 1000
    assert retired.promoted_at_ns == promoted.promoted_at_ns  # kept
    assert registry.get("lightgbm-SHFE.cu-h10", "1") == retired
    assert [e.status for e in registry.list(status="retired")] == ["retired"]


def test_set_status_refuses_unknown_models_and_statuses(registry: ModelRegistry) -> None:
    with pytest.raises(NotFound, match="not registered"):
        registry.set_status("missing", "1", "production", T0)
    registry.register(_entry())
    with pytest.raises(InvalidArgument, match="status"):
        registry.set_status("lightgbm-SHFE.cu-h10", "1", "live", T0)  # type: ignore[arg-type]
    got = registry.get("lightgbm-SHFE.cu-h10", "1")
    assert got is not None and got.status == "development"
    with pytest.raises(InvalidArgument, match="status"):
        registry.register(_entry(version="2", status="live"))  # type: ignore[arg-type]


# --- status changes and their log (ghtrader_model_status_changes_v2) ---------------------------
MID = "lightgbm-SHFE.cu-h10"


def _us(ns: int) -> int:
    return ns - ns % 1000


def _change(version: str, frm: str, to: str, at: int = T0, **kw: object) -> StatusChange:
    base = StatusChange(
        model_id=MID, version=version, from_status=frm, to_status=to,  # type: ignore[arg-type]
        reason=f"{frm} -> {to}", actor="test", at_ns=at,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def test_change_statuses_applies_a_batch_and_logs_it_in_order(registry: ModelRegistry) -> None:
    registry.register(_entry(version="1"))
    registry.register(_entry(version="2"))
    assert registry.history(MID) == []
    decision = {"decision": "promote", "checks": [{"name": "macro_f1", "value": np.float64(0.4), "passed": True}]}
    got = registry.change_statuses([_change("1", "development", "production", T0 + 1_999, decision=decision)])
    assert [(e.version, e.status) for e in got] == [("1", "production")]
    assert got[0].promoted_at_ns == _us(T0 + 1_999)
    # a promotion of v2 retires v1 in the same batch
    got = registry.change_statuses(
        [
            _change("1", "production", "retired", T0 + 5_000, reason="replaced by v2"),
            _change("2", "development", "production", T0 + 5_000, reason="gate passed"),
        ]
    )
    assert [(e.version, e.status) for e in got] == [("1", "retired"), ("2", "production")]
    e1, e2 = registry.get(MID, "1"), registry.get(MID, "2")
    assert e1 is not None and e1.status == "retired" and e1.retired_at_ns == _us(T0 + 5_000)
    assert e2 is not None and e2.status == "production"
    h = registry.history(MID)
    assert [(c.version, c.from_status, c.to_status, c.reason) for c in h] == [
        ("1", "development", "production", "development -> production"),
        ("1", "production", "retired", "replaced by v2"),
        ("2", "development", "production", "gate passed"),
    ]
    assert h[0].at_ns == _us(T0 + 1_999) and h[0].actor == "test"
    assert h[0].decision == {"decision": "promote", "checks": [{"name": "macro_f1", "value": 0.4, "passed": True}]}
    assert h[1].decision == {}
    assert registry.history("other-model") == []


def test_change_statuses_is_a_compare_and_set_all_or_nothing(registry: ModelRegistry) -> None:
    registry.register(_entry(version="1"))
    registry.register(_entry(version="2"))
    with pytest.raises(FailedPrecondition, match="not staging"):
        registry.change_statuses([_change("1", "development", "retired"), _change("2", "staging", "production")])
    assert [e.status for e in registry.list()] == ["development", "development"]
    assert registry.history(MID) == []
    with pytest.raises(NotFound, match="not registered"):
        registry.change_statuses([_change("7", "development", "staging")])
    with pytest.raises(InvalidArgument, match="one model_id"):
        registry.change_statuses(
            [_change("1", "development", "staging"), _change("2", "development", "staging", model_id="x")]
        )
    with pytest.raises(InvalidArgument, match="status"):
        registry.change_statuses([_change("1", "development", "live")])
    with pytest.raises(InvalidArgument, match="actor"):
        registry.change_statuses([_change("1", "development", "staging", actor="")])
    assert registry.history(MID) == []


def test_exactly_one_production_version_per_model(registry: ModelRegistry) -> None:
    registry.register(_entry(version="1"))
    registry.register(_entry(version="2"))
    registry.register(_entry("other", "1"))
    registry.change_statuses([_change("1", "development", "production")])
    with pytest.raises(FailedPrecondition, match="production versions"):
        registry.change_statuses([_change("2", "development", "production")])
    with pytest.raises(FailedPrecondition, match="production versions"):
        registry.set_status(MID, "2", "production", T0)
    assert [e.version for e in registry.list(status="production")] == ["1"]
    registry.set_status("other", "1", "production", T0)  # another model is independent
    assert len(registry.history(MID)) == 1


def test_shadow_is_a_status(registry: ModelRegistry) -> None:
    registry.register(_entry(status="shadow"))
    registry.change_statuses([_change("1", "shadow", "staging")])
    assert [e.status for e in registry.list(status="staging")] == ["staging"]
