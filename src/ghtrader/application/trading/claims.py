"""Which executor kind drives each (account, symbol) across the runs of one server.

TqSdk forbids a target-position task and direct orders on the same account and symbol (they
would fight over the position). A run whose account is shared with other runs (TqKq, a broker
profile) claims its symbol for its executor kind when it starts and releases it when it ends; a
run of the other kind on the same pair is refused. Runs with an account of their own (paper,
the local simulated account, TqSim) never conflict and claim nothing.
"""

from __future__ import annotations

import threading

from ghtrader.application.errors import FailedPrecondition

__all__ = ["ExecutorClaims"]


class ExecutorClaims:
    """(account, symbol) -> the executor kind and the runs holding it (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str], tuple[str, set[str]]] = {}

    def claim(self, account: str, symbol: str, kind: str, run_id: str) -> None:
        """Record that ``run_id`` drives ``symbol`` on ``account`` with ``kind``; refuses the
        other kind while any run holds the pair (``FailedPrecondition``). No-op for ``account`` ""."""
        if not account:
            return
        with self._lock:
            held = self._held.get((account, symbol))
            if held is not None and held[1] and held[0] != kind:
                raise FailedPrecondition(
                    f"{symbol} on {account} is driven by the {held[0]} executor of run(s) {', '.join(sorted(held[1]))}:"
                    f" a {kind} executor on the same account and symbol is refused (TqSdk forbids mixing them)"
                )
            if held is None or not held[1]:
                self._held[(account, symbol)] = (kind, {run_id})
            else:
                held[1].add(run_id)

    def release(self, run_id: str) -> None:
        """Drop every claim of ``run_id``."""
        with self._lock:
            for key, (_kind, runs) in list(self._held.items()):
                runs.discard(run_id)
                if not runs:
                    del self._held[key]

    def holder(self, account: str, symbol: str) -> str | None:
        """The executor kind driving ``symbol`` on ``account`` now, if any."""
        with self._lock:
            held = self._held.get((account, symbol))
            return held[0] if held else None
