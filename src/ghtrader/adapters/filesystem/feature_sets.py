"""JsonFeatureSetStore: one JSON file per named feature set under ``runs/feature_sets/``."""

from __future__ import annotations

import json
from pathlib import Path

from ghtrader.adapters.filesystem.atomic import write_text_atomically
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.feature_sets import FEATURE_SET_NAME, FeatureSet
from ghtrader.application.reporting import to_jsonable

__all__ = ["JsonFeatureSetStore"]


class JsonFeatureSetStore:
    """FeatureSetStore over ``<root>/<name>.json`` (written atomically)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        if not FEATURE_SET_NAME.match(name) or ".." in name:
            raise InvalidArgument(f"invalid feature set name {name!r}: letters, digits, '.', '_', '-' only")
        return self.root / f"{name}.json"

    def save(self, feature_set: FeatureSet) -> str:
        path = self._path(feature_set.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, json.dumps(to_jsonable(feature_set), indent=2, sort_keys=True) + "\n")
        return str(path)

    def get(self, name: str) -> FeatureSet | None:
        path = self._path(name)
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return FeatureSet(
                name=str(data["name"]),
                features=tuple(str(f) for f in data["features"]),
                created_at_ns=int(data["created_at_ns"]),
                symbol=str(data.get("symbol", "")),
                horizon=int(data.get("horizon", 0)),
                selection=dict(data.get("selection") or {}),
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise FailedPrecondition(f"{path} is not a feature set: {exc}") from exc

    def list(self) -> list[FeatureSet]:
        if not self.root.is_dir():
            return []
        found = (self.get(p.stem) for p in sorted(self.root.glob("*.json")) if FEATURE_SET_NAME.match(p.stem))
        return [s for s in found if s is not None]
