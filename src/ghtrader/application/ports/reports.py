"""Report sink port: where use cases leave their JSON run reports (ingest, audit, verify ...)."""

from __future__ import annotations

from typing import Any, Protocol


class ReportSink(Protocol):
    def write_json(self, kind: str, run_id: str, payload: dict[str, Any]) -> str:
        """Store ``payload`` as the report ``run_id`` of ``kind`` (replacing one of the same id)
        and return where it went (a path or URI a person can open)."""
        ...
