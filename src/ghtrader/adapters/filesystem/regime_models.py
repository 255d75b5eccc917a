"""``FilesystemRegimeModelStore``: fitted regime models as JSON files (``artifacts/regimes/``)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ghtrader.adapters.filesystem.atomic import write_text_atomically
from ghtrader.application.errors import InvalidArgument

__all__ = ["FilesystemRegimeModelStore"]

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,199}$")


class FilesystemRegimeModelStore:
    """One ``<model_id>.json`` per model under ``root``; written atomically."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    def _path(self, model_id: str) -> Path:
        if not _ID_RE.match(model_id) or ".." in model_id:
            raise InvalidArgument(f"invalid regime model id {model_id!r}")
        return self._root / f"{model_id}.json"

    def save_model(self, model_id: str, payload: Mapping[str, Any]) -> str:
        path = self._path(model_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, json.dumps(dict(payload), indent=1, sort_keys=True))
        return str(path)

    def load_model(self, model_id: str) -> dict[str, Any]:
        path = self._path(model_id)
        if not path.is_file():
            raise KeyError(model_id)
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def model_ids(self) -> list[str]:
        if not self._root.is_dir():
            return []
        files = sorted(self._root.glob("*.json"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        return [p.stem for p in files]
