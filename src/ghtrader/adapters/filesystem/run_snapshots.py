"""RunSnapshots over the trading-run folders: the equity columns of ``snapshots.jsonl``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ghtrader.adapters.filesystem.trading_runs import _RUN_ID, SNAPSHOTS
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.run_equity import EquityColumns


class FilesystemRunSnapshots:
    """Reads ``<root>/<run_id>/snapshots.jsonl`` (lines a writer is still appending are skipped)."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    def equity_columns(self, run_id: str) -> EquityColumns | None:
        if not _RUN_ID.fullmatch(run_id or ""):
            raise InvalidArgument(f"invalid run id {run_id!r}")
        folder = self._root / run_id
        if not folder.is_dir():
            return None
        times: list[int] = []
        equity: list[float] = []
        balance: list[float] = []
        path = folder / SNAPSHOTS
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        record = json.loads(line)
                        t, e, b = int(record["time_ns"]), record["equity"], record["balance"]
                    except (ValueError, KeyError, TypeError):
                        continue  # a line being written, or not a snapshot
                    times.append(t)
                    equity.append(float("nan") if e is None else float(e))
                    balance.append(float("nan") if b is None else float(b))
        return EquityColumns(
            np.asarray(times, dtype=np.int64),
            np.asarray(equity, dtype=np.float64),
            np.asarray(balance, dtype=np.float64),
        )
