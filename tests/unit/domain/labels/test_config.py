"""LabelConfig: validation, normalisation, round trip and the deterministic hash."""

from __future__ import annotations

import hashlib
import json

import pytest

from ghtrader.domain.labels import LABELS_VERSION, LabelConfig, LabelError


def test_defaults_and_normalisation() -> None:
    cfg = LabelConfig()
    assert cfg.direction_horizons == (10, 50, 200) and cfg.k == 1.0
    assert cfg.fill_horizons == (10, 50, 100, 500) and cfg.fill_expire_at_day_end is True
    same = LabelConfig(direction_horizons=[200, 10, 50], k=1, fill_horizons=(500, 100, 50, 10))
    assert same == cfg and same.config_hash() == cfg.config_hash()


def test_hash_is_sha256_of_the_canonical_json() -> None:
    cfg = LabelConfig(direction_horizons=(5,), k=2.0)
    text = json.dumps(
        {
            "labels_version": LABELS_VERSION,
            "direction_horizons": [5],
            "k": 2.0,
            "fill_horizons": [10, 50, 100, 500],
            "fill_expire_at_day_end": True,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    assert cfg.config_hash() == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    "change",
    [{"direction_horizons": (10, 50)}, {"k": 1.5}, {"fill_horizons": (10,)}, {"fill_expire_at_day_end": False}],
)
def test_every_field_changes_the_hash(change: dict) -> None:
    assert LabelConfig(**change).config_hash() != LabelConfig().config_hash()


def test_dict_round_trip_rejects_unknown_fields() -> None:
    cfg = LabelConfig(k=3.0, fill_horizons=(7, 70))
    assert LabelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(LabelError, match="unknown LabelConfig fields"):
        LabelConfig.from_dict({"k": 1.0, "horizon": 5})
    with pytest.raises(TypeError):
        LabelConfig(threshold=2)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "bad",
    [
        {"direction_horizons": ()},
        {"direction_horizons": (0,)},
        {"fill_horizons": (5, 5)},
        {"fill_horizons": (1.5,)},
        {"k": 0},
        {"k": float("nan")},
        {"k": True},
        {"fill_expire_at_day_end": 1},
    ],
)
def test_invalid_values(bad: dict) -> None:
    with pytest.raises(LabelError):
        LabelConfig(**bad)


@pytest.mark.parametrize(
    ("change", "moved"),
    [
        ({"direction_horizons": (10, 50)}, "direction"),
        ({"k": 1.5}, "direction"),
        ({"fill_horizons": (10,)}, "fill"),
        ({"fill_expire_at_day_end": False}, "fill"),
    ],
)
def test_part_hash_moves_only_with_its_own_fields(change: dict, moved: str) -> None:
    base, other = LabelConfig(), LabelConfig(**change)
    for part in ("direction", "fill"):
        assert (base.part_hash(part) != other.part_hash(part)) == (part == moved), part
    assert base.part_hash("direction") != base.part_hash("fill")


def test_lookahead_is_the_longest_horizon_of_the_part() -> None:
    cfg = LabelConfig(direction_horizons=(5, 40), fill_horizons=(10, 300))
    assert cfg.lookahead("direction") == 40 and cfg.lookahead("fill") == 300
    with pytest.raises(LabelError, match="unknown label part"):
        cfg.part_hash("spread")
