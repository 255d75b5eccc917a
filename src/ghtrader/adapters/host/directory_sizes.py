"""DirectorySizer over the local file system: an iterative ``os.scandir`` walk that stops at
its time budget (symlinks are not followed; unreadable sub-folders are skipped)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ghtrader.application.ports.system import DirectorySize


class ScandirDirectorySizer:
    """Sums the sizes of regular files under a folder, checking the clock every few entries."""

    def __init__(
        self, monotonic: Callable[[], float] = time.monotonic, now_ns: Callable[[], int] = time.time_ns
    ) -> None:
        self._monotonic = monotonic
        self._now_ns = now_ns

    def measure(self, path: str, budget_s: float) -> DirectorySize:
        t0 = self._monotonic()
        if not os.path.isdir(path):
            return DirectorySize(path, 0, 0, False, 0.0, self._now_ns(), "not a folder (does not exist yet?)")
        total = files = seen = 0
        partial = False
        pending = [path]
        while pending and not partial:
            folder = pending.pop()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        seen += 1
                        if seen % 256 == 0 and self._monotonic() - t0 > budget_s:
                            partial = True
                            break
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                pending.append(entry.path)
                            elif entry.is_file(follow_symlinks=False):
                                total += entry.stat(follow_symlinks=False).st_size
                                files += 1
                        except OSError:
                            continue  # vanished or unreadable while walking
            except OSError:
                continue  # a sub-folder we may not read
        return DirectorySize(path, total, files, partial, self._monotonic() - t0, self._now_ns())


def file_size(path: str) -> int | None:
    """Bytes of a regular file, None when it is missing or not a regular file."""
    try:
        return os.stat(path).st_size if os.path.isfile(path) else None
    except OSError:
        return None
