"""A progress bar on stderr: redrawn in place on a terminal, a line per 10% otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ghtrader.interfaces.client.views import ProgressView


class ProgressBar:
    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._width = width
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._last_decile = -1
        self._started = time.monotonic()
        self._drawn = False

    def __call__(self, p: ProgressView) -> None:
        filled = int(self._width * p.percent / 100) if p.total else 0
        bar = "#" * filled + "-" * (self._width - filled)
        elapsed = time.monotonic() - self._started
        line = f"{self._label} [{bar}] {p.percent:5.1f}% ({p.done}/{p.total}) {elapsed:5.0f}s {p.message}"
        if self._tty:
            self._stream.write("\r" + line[:160].ljust(160))
            self._drawn = True
        else:
            decile = int(p.percent // 10)
            if decile == self._last_decile:
                return
            self._last_decile = decile
            self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._tty and self._drawn:
            self._stream.write("\n")
            self._stream.flush()
