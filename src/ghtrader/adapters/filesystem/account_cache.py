"""AccountCache on the filesystem: ``<root>/<profile>.json``, replaced atomically."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ghtrader.adapters.filesystem.atomic import write_text_atomically
from ghtrader.adapters.filesystem.trading_runs import _dumps
from ghtrader.application.errors import InvalidArgument

__all__ = ["FilesystemAccountCache"]

_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class FilesystemAccountCache:
    """One JSON file per profile under ``root`` (``runs/control/cache/accounts``)."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    def _path(self, profile: str) -> Path:
        if not _PROFILE.fullmatch(profile):
            raise InvalidArgument(f"invalid profile name {profile!r}: letters, digits, '_' and '-' only")
        return self._root / f"{profile}.json"

    def write(self, profile: str, record: dict[str, Any]) -> str:
        path = self._path(profile)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, _dumps(record, indent=2) + "\n")
        return str(path)

    def read(self, profile: str) -> dict[str, Any] | None:
        path = self._path(profile)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None
