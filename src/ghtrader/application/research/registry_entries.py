"""Rules every ModelRegistry backend shares (the in-memory one and PostgreSQL), so both
accept, normalise and refuse the same entries (proven by tests/contract).

- ``version`` is a decimal integer in text form (``"1"``, ``"17"``), as the table stores an
  integer; ``model_id`` and ``model_type`` are non-empty.
- ``metrics`` must be JSON: they are stored as JSON and read back as JSON, so tuples become
  lists, NumPy scalars plain numbers and non-finite floats ``None`` (JSON has no NaN).
- Timestamps are epoch ns kept to the microsecond (the database's resolution).
- ``set_status`` stamps ``promoted_at_ns`` when a model enters production and
  ``retired_at_ns`` when it is retired; earlier stamps stay.
- ``change_statuses`` applies a batch of one model's changes as a compare-and-set on each
  version's status and leaves at most one production version (:func:`apply_changes`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, cast, get_args

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.models import ModelStatus, RegistryEntry, StatusChange

__all__ = [
    "MAX_VERSION",
    "MODEL_STATUSES",
    "apply_changes",
    "check_changes",
    "check_single_production",
    "check_entry",
    "check_status",
    "json_metrics",
    "stamp_us",
    "version_number",
    "with_status",
]

MODEL_STATUSES: tuple[str, ...] = get_args(ModelStatus)
MAX_VERSION = 2**31 - 1
_VERSION_RE = re.compile(r"^[0-9]{1,10}$")


def version_number(version: str) -> int:
    """The integer of a version string; InvalidArgument unless it is a decimal in 1..2**31-1."""
    if not isinstance(version, str) or not _VERSION_RE.match(version) or not 1 <= int(version) <= MAX_VERSION:
        raise InvalidArgument(f"model version must be a whole number from 1 to {MAX_VERSION} as text (got {version!r})")
    return int(version)


def check_status(status: str) -> ModelStatus:
    if status not in MODEL_STATUSES:
        raise InvalidArgument(f"unknown model status {status!r}: expected one of {', '.join(MODEL_STATUSES)}")
    return cast(ModelStatus, status)


def stamp_us(ns: int | None) -> int | None:
    """``ns`` truncated to whole microseconds (None stays None)."""
    if ns is None:
        return None
    return int(ns) - int(ns) % 1000


def _json_value(value: Any, path: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.ndarray):
        return [_json_value(v, f"{path}[]") for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v, f"{path}[]") for v in value]
    raise InvalidArgument(f"metric {path or 'value'} of type {type(value).__name__} is not JSON")


def json_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics`` as plain JSON values (see module docstring); InvalidArgument when not JSON."""
    if not isinstance(metrics, Mapping):
        raise InvalidArgument(f"metrics must be a mapping (got {type(metrics).__name__})")
    return {str(k): _json_value(v, str(k)) for k, v in metrics.items()}


def check_entry(entry: RegistryEntry) -> RegistryEntry:
    """``entry`` validated and normalised as a backend stores it (created_at_ns 0 stays 0:
    the backend stamps it)."""
    for name in ("model_id", "model_type", "artifact_path", "config_hash"):
        value = getattr(entry, name)
        if not isinstance(value, str) or (name in ("model_id", "model_type") and not value.strip()):
            raise InvalidArgument(f"registry entry {name} must be a non-empty string (got {value!r})")
    version_number(entry.version)
    check_status(entry.status)
    return replace(
        entry,
        version=str(int(entry.version)),
        metrics=json_metrics(entry.metrics),
        created_at_ns=stamp_us(entry.created_at_ns) or 0,
        promoted_at_ns=stamp_us(entry.promoted_at_ns),
        retired_at_ns=stamp_us(entry.retired_at_ns),
    )


def with_status(entry: RegistryEntry, status: str, at_ns: int) -> RegistryEntry:
    """``entry`` moved to ``status`` at ``at_ns`` (stamps as in the module docstring)."""
    new_status = check_status(status)
    at = stamp_us(at_ns)
    promoted = at if new_status == "production" else entry.promoted_at_ns
    retired = at if new_status == "retired" else entry.retired_at_ns
    return replace(entry, status=new_status, promoted_at_ns=promoted, retired_at_ns=retired)


def check_changes(changes: Sequence[StatusChange]) -> list[StatusChange]:
    """``changes`` validated and normalised (version text, at_ns to the microsecond, decision as
    JSON); InvalidArgument unless they are non-empty and all of one model_id."""
    if not changes:
        raise InvalidArgument("no status changes given")
    out = []
    for c in changes:
        if not isinstance(c.model_id, str) or not c.model_id.strip():
            raise InvalidArgument(f"status change model_id must be a non-empty string (got {c.model_id!r})")
        if not isinstance(c.actor, str) or not c.actor.strip():
            raise InvalidArgument(f"status change actor must be a non-empty string (got {c.actor!r})")
        if not isinstance(c.reason, str):
            raise InvalidArgument(f"status change reason must be a string (got {c.reason!r})")
        if not isinstance(c.at_ns, int) or c.at_ns < 0:
            raise InvalidArgument(f"status change at_ns must be epoch nanoseconds (got {c.at_ns!r})")
        out.append(
            replace(
                c,
                version=str(version_number(c.version)),
                from_status=check_status(c.from_status),
                to_status=check_status(c.to_status),
                at_ns=stamp_us(c.at_ns) or 0,
                decision=json_metrics(c.decision),
            )
        )
    if len({c.model_id for c in out}) != 1:
        raise InvalidArgument("a batch of status changes must concern one model_id")
    return out


def check_single_production(model_id: str, entries: Sequence[RegistryEntry]) -> None:
    """FailedPrecondition when more than one of ``entries`` is in production."""
    live = sorted((e for e in entries if e.status == "production"), key=lambda e: int(e.version))
    if len(live) > 1:
        versions = ", ".join(e.version for e in live)
        raise FailedPrecondition(
            f"model {model_id!r} would have {len(live)} production versions ({versions}): exactly one may serve; "
            "promote or roll back, which moves the old production version out"
        )


def apply_changes(
    current: Mapping[str, RegistryEntry], changes: Sequence[StatusChange]
) -> tuple[list[RegistryEntry], dict[str, RegistryEntry]]:
    """Apply checked ``changes`` to ``current`` (version -> entry of one model).

    Returns the updated entry after each change (in order) and the model's final entries.
    NotFound for an unregistered version; FailedPrecondition when a version is not in the
    change's ``from_status`` at its turn, or when more than one version ends in production.
    """
    state = dict(current)
    updated: list[RegistryEntry] = []
    for c in changes:
        entry = state.get(c.version)
        if entry is None:
            raise NotFound(f"model {c.model_id!r} version {c.version} is not registered")
        if entry.status != c.from_status:
            raise FailedPrecondition(
                f"model {c.model_id!r} version {c.version} is {entry.status}, not {c.from_status}: "
                "its status changed meanwhile; nothing was changed"
            )
        entry = with_status(entry, c.to_status, c.at_ns)
        state[c.version] = entry
        updated.append(entry)
    model_id = changes[0].model_id if changes else ""
    check_single_production(model_id, list(state.values()))
    return updated, state
