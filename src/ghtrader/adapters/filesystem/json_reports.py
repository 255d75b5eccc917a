"""ReportSink writing ``<root>/<kind>/<run_id>.json`` atomically (temp file + rename)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,199}")


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"report value of type {type(value).__name__} is not JSON serialisable")


class JsonFileReportSink:
    """Reports as pretty-printed JSON files under ``root`` (usually ``runs/``).

    A reader never sees a half-written file: the JSON goes to a temporary file in the same
    folder, is flushed to disk and then renamed over the target. ``stamp`` adds fields to every
    report a payload does not set itself (the container stamps the code version: ``git_commit``,
    ``git_dirty``).
    """

    def __init__(self, root: Path, stamp: Callable[[], Mapping[str, Any]] | None = None) -> None:
        self._root = Path(root)
        self._stamp = stamp

    @property
    def root(self) -> Path:
        return self._root

    def write_json(self, kind: str, run_id: str, payload: dict[str, Any]) -> str:
        for label, value in (("kind", kind), ("run_id", run_id)):
            if not isinstance(value, str) or _NAME_RE.fullmatch(value) is None or ".." in value:
                raise ValueError(
                    f"invalid report {label} {value!r}: expected letters, digits, '.', '_', '-', '@' "
                    "(no path separators)"
                )
        if self._stamp is not None:
            payload = {**self._stamp(), **payload}
        text = json.dumps(payload, indent=2, sort_keys=True, default=_json_default, allow_nan=True)
        folder = self._root / kind
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{run_id}.json"
        fd, tmp = tempfile.mkstemp(prefix=f".{run_id}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return str(target)
