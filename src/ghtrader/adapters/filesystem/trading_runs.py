"""TradingRunStore on the filesystem: ``<root>/<run_id>/`` with JSON and JSON-lines files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ghtrader.adapters.filesystem.atomic import write_text_atomically
from ghtrader.adapters.filesystem.json_reports import _json_default
from ghtrader.application.errors import FailedPrecondition, InvalidArgument

__all__ = ["FilesystemTradingRunStore"]

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,199}")
CONFIG, SNAPSHOTS, EVENTS, STATE, COMMANDS = (
    "run_config.json",
    "snapshots.jsonl",
    "events.jsonl",
    "state.json",
    "commands.jsonl",
)


def _dumps(record: dict[str, Any], indent: int | None = None) -> str:
    return json.dumps(record, sort_keys=True, default=_json_default, indent=indent)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


class FilesystemTradingRunStore:
    """Trading runs under ``root`` (usually ``runs/trading``); see the TradingRunStore port."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    @property
    def root(self) -> Path:
        return self._root

    def _dir(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or _RUN_ID.fullmatch(run_id) is None or ".." in run_id:
            raise InvalidArgument(f"invalid run id {run_id!r}")
        return self._root / run_id

    def _append(self, run_id: str, name: str, record: dict[str, Any]) -> None:
        with (self._dir(run_id) / name).open("a", encoding="utf-8") as fh:
            fh.write(_dumps(record) + "\n")
            fh.flush()

    def create(self, run_id: str, config: dict[str, Any]) -> str:
        d = self._dir(run_id)
        d.parent.mkdir(parents=True, exist_ok=True)
        try:
            d.mkdir()
        except FileExistsError as exc:
            raise FailedPrecondition(f"trading run {run_id} exists already") from exc
        write_text_atomically(d / CONFIG, _dumps(config, indent=2) + "\n")
        for name in (SNAPSHOTS, EVENTS, COMMANDS):
            (d / name).touch()
        return str(d)

    def update_config(self, run_id: str, config: dict[str, Any]) -> None:
        write_text_atomically(self._dir(run_id) / CONFIG, _dumps(config, indent=2) + "\n")

    def exists(self, run_id: str) -> bool:
        return (self._dir(run_id) / CONFIG).is_file()

    def list_runs(self) -> list[str]:
        if not self._root.is_dir():
            return []
        return sorted(p.name for p in self._root.iterdir() if (p / CONFIG).is_file())

    def read_config(self, run_id: str) -> dict[str, Any] | None:
        return _read_json(self._dir(run_id) / CONFIG)

    def append_event(self, run_id: str, event: dict[str, Any]) -> None:
        self._append(run_id, EVENTS, event)

    def append_snapshot(self, run_id: str, snapshot: dict[str, Any]) -> None:
        self._append(run_id, SNAPSHOTS, snapshot)

    def write_state(self, run_id: str, state: dict[str, Any]) -> None:
        write_text_atomically(self._dir(run_id) / STATE, _dumps(state, indent=2) + "\n")

    def read_state(self, run_id: str) -> dict[str, Any] | None:
        return _read_json(self._dir(run_id) / STATE)

    def tail_events(self, run_id: str, limit: int) -> list[dict[str, Any]]:
        path = self._dir(run_id) / EVENTS
        if not path.is_file():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        out = [json.loads(line) for line in lines if line.strip()]
        return out[-limit:] if limit > 0 else out

    def append_command(self, run_id: str, command: dict[str, Any]) -> None:
        if not self.exists(run_id):
            raise FailedPrecondition(f"no trading run {run_id}")
        self._append(run_id, COMMANDS, command)

    def read_commands(self, run_id: str, offset: int) -> tuple[list[dict[str, Any]], int]:
        path = self._dir(run_id) / COMMANDS
        try:
            with path.open("rb") as fh:
                fh.seek(offset)
                data = fh.read()
        except FileNotFoundError:
            return [], offset
        end = data.rfind(b"\n") + 1  # only complete lines: a writer may be mid-line
        out = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
        return out, offset + end
