"""Trading-run persistence port: what a run writes for the dashboard and what operators send it.

Per run (``runs/trading/<run_id>/`` on disk): ``run_config.json`` (written once),
``snapshots.jsonl`` and ``events.jsonl`` (append-only, one JSON object a line), ``state.json``
(replaced atomically: a reader never sees half of it) and ``commands.jsonl`` (operator commands
appended by any process, read by the running loop from an offset).
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["TradingRunStore"]

Record = dict[str, Any]


class TradingRunStore(Protocol):
    """Where trading runs keep their records."""

    def create(self, run_id: str, config: Record) -> str:
        """Create the run's folder with its ``run_config.json``; returns where it lives.
        Raises ``FailedPrecondition`` when the run exists already."""
        ...

    def update_config(self, run_id: str, config: Record) -> None:
        """Replace ``run_config.json`` atomically (the preflight completes it)."""
        ...

    def exists(self, run_id: str) -> bool: ...

    def list_runs(self) -> list[str]:
        """Run ids, oldest first."""
        ...

    def read_config(self, run_id: str) -> Record | None: ...

    def append_event(self, run_id: str, event: Record) -> None: ...

    def append_snapshot(self, run_id: str, snapshot: Record) -> None: ...

    def write_state(self, run_id: str, state: Record) -> None:
        """Replace ``state.json`` atomically."""
        ...

    def read_state(self, run_id: str) -> Record | None: ...

    def tail_events(self, run_id: str, limit: int) -> list[Record]:
        """The last ``limit`` events, oldest first."""
        ...

    def append_command(self, run_id: str, command: Record) -> None:
        """Queue an operator command for the run (works across processes)."""
        ...

    def read_commands(self, run_id: str, offset: int) -> tuple[list[Record], int]:
        """Complete commands written after byte ``offset`` and the offset to read from next."""
        ...
