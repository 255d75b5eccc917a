"""ManifestStore writing ``<root>/job-<id>.json`` atomically (usually ``runs/control/manifests``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ghtrader.adapters.filesystem.atomic import write_text_atomically
from ghtrader.adapters.filesystem.json_reports import _json_default


class JsonRunManifestStore:
    """One pretty-printed JSON manifest per job; a reader never sees a half-written file."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        return self._root

    def write(self, job_id: int, manifest: Mapping[str, Any]) -> str:
        if int(job_id) < 1:
            raise ValueError(f"job id must be >= 1, got {job_id}")
        target = self._root / f"job-{int(job_id)}.json"
        text = json.dumps(dict(manifest), indent=2, sort_keys=True, default=_json_default, allow_nan=True)
        write_text_atomically(target, text + "\n")
        return str(target)

    def read(self, path: str) -> dict[str, Any]:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path} is not a run manifest (a JSON object)")
        return data
