"""Frozen label configuration with a deterministic hash."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, cast

from ghtrader.domain.errors import DomainError

__all__ = [
    "DEFAULT_DIRECTION_HORIZONS",
    "DEFAULT_FILL_HORIZONS",
    "LABELS_VERSION",
    "LABEL_PARTS",
    "LabelConfig",
    "LabelError",
    "check_horizons",
    "check_k",
]

#: Version of the label definitions; part of :meth:`LabelConfig.config_hash`. Bump it whenever a
#: label's meaning changes so stored labels built by older code no longer match.
LABELS_VERSION = 1
DEFAULT_DIRECTION_HORIZONS: tuple[int, ...] = (10, 50, 200)
DEFAULT_FILL_HORIZONS: tuple[int, ...] = (10, 50, 100, 500)
#: The two label families: forward mid direction and passive-order fills.
LABEL_PARTS: tuple[str, ...] = ("direction", "fill")
_PART_FIELDS = {"direction": ("direction_horizons", "k"), "fill": ("fill_horizons", "fill_expire_at_day_end")}


class LabelError(DomainError):
    """A label parameter or input array that cannot be used."""


def check_horizons(horizons: object, name: str = "horizons") -> tuple[int, ...]:
    """Validate tick horizons: a non-empty sequence of distinct positive ints, returned ascending."""
    try:
        items: tuple[Any, ...] = tuple(cast(Iterable[Any], horizons))  # a non-iterable raises TypeError
    except TypeError:
        raise LabelError(f"invalid {name} {horizons!r}: expected a sequence of positive ints") from None
    ok = (
        bool(items)
        and all(isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in items)
        and len(set(items)) == len(items)
    )
    if not ok:
        raise LabelError(f"invalid {name} {horizons!r}: expected distinct positive ints, e.g. (10, 50, 200)")
    return tuple(sorted(items))


def check_k(k: object) -> float:
    """Validate the direction threshold ``k`` (price ticks): a finite number > 0, as float."""
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not (math.isfinite(k) and k > 0):
        raise LabelError(f"invalid k={k!r}: expected a finite number of ticks > 0")
    return float(k)


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelConfig:
    """Every parameter of the labels; labels are a pure function of it and the ticks.

    Attributes:
        direction_horizons: tick horizons of the direction labels (``dir_h{h}``, ``dmid_h{h}``).
        k: direction threshold in price ticks (a move of at least ``k`` ticks is UP/DOWN).
        fill_horizons: tick horizons of the fill indicators (``fill_*_h{h}``); the largest is
            the fill walk's maximum horizon.
        fill_expire_at_day_end: hypothetical orders are day orders (SHFE has no GTC): the fill
            walk stops at the last tick of the placement's trading day.
    """

    direction_horizons: tuple[int, ...] = DEFAULT_DIRECTION_HORIZONS
    k: float = 1.0
    fill_horizons: tuple[int, ...] = DEFAULT_FILL_HORIZONS
    fill_expire_at_day_end: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "direction_horizons", check_horizons(self.direction_horizons, "direction_horizons"))
        object.__setattr__(self, "fill_horizons", check_horizons(self.fill_horizons, "fill_horizons"))
        object.__setattr__(self, "k", check_k(self.k))
        if not isinstance(self.fill_expire_at_day_end, bool):
            raise LabelError(f"invalid fill_expire_at_day_end={self.fill_expire_at_day_end!r}: expected a bool")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field (tuples as lists)."""
        d = asdict(self)
        return {key: list(v) if isinstance(v, tuple) else v for key, v in d.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelConfig:
        """Inverse of :meth:`to_dict`; unknown keys are rejected."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LabelError(f"unknown LabelConfig fields {unknown}: expected some of {sorted(known)}")
        kwargs: dict[str, Any] = {key: tuple(v) if isinstance(v, list) else v for key, v in data.items()}
        return cls(**kwargs)

    def config_hash(self) -> str:
        """sha256 hex of the canonical JSON of :data:`LABELS_VERSION` and every field."""
        payload = {"labels_version": LABELS_VERSION, **self.to_dict()}
        return _sha(payload)

    def part_hash(self, part: str) -> str:
        """sha256 hex of :data:`LABELS_VERSION` and the fields one label family depends on
        (``"direction"``: horizons and k; ``"fill"``: horizons and day expiry), so changing one
        family's parameters leaves the other's hash alone."""
        if part not in _PART_FIELDS:
            raise LabelError(f"unknown label part {part!r}: expected one of {LABEL_PARTS}")
        d = self.to_dict()
        return _sha({"labels_version": LABELS_VERSION, "part": part, **{f: d[f] for f in _PART_FIELDS[part]}})

    def lookahead(self, part: str) -> int:
        """Ticks a label family looks ahead at most (its longest horizon)."""
        if part not in _PART_FIELDS:
            raise LabelError(f"unknown label part {part!r}: expected one of {LABEL_PARTS}")
        return max(self.direction_horizons) if part == "direction" else max(self.fill_horizons)


def _sha(payload: object) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
