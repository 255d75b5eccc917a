"""Helpers for run reports: run ids and JSON-ready conversion of result dataclasses."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Any

import numpy as np

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def make_run_id(now_ns: int, label: str) -> str:
    """``"20260105T013000.123456Z_SHFE.cu2602"``: UTC time of the run plus a label."""
    stamp = datetime.fromtimestamp(now_ns / 1e9, tz=UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    safe = _UNSAFE.sub("_", label).strip("._-") or "run"
    return f"{stamp}_{safe[:120]}"


def to_jsonable(value: Any) -> Any:
    """Dataclasses, dates, paths, NumPy scalars/arrays, sets and tuples as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(value)]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value
