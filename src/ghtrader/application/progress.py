"""Progress reporting shared by long-running use cases (jobs, scheduled runs, gRPC streams)."""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, int, str], None]
"""``progress(done, total, message)``; ``done == total`` means finished."""


def no_progress(done: int, total: int, message: str) -> None:
    """The default callback: report nothing."""
