"""Human-readable or JSON output for CLI commands."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_duration(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    parts = [f"{d}d"] if d else []
    return " ".join([*parts, f"{h:02d}:{m:02d}:{s:02d}"])


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None, so ``--json`` output is valid JSON
    (a metric that could not be computed, e.g. an empty calibration bin, reads as null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


@dataclass
class Output:
    json_mode: bool = False
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def result(self, payload: Mapping[str, Any], human: str) -> None:
        """The command's answer: JSON on stdout with --json, else the human text."""
        if self.json_mode:
            text = json.dumps(json_safe(payload), indent=2, sort_keys=True, default=str, allow_nan=False)
            self.stdout.write(text + "\n")
        else:
            self.stdout.write(human.rstrip("\n") + "\n")
        self.stdout.flush()

    def progress(self, message: str) -> None:
        """Progress and notes go to stderr so --json stdout stays machine-readable."""
        self.stderr.write(message + "\n")
        self.stderr.flush()

    def error(self, message: str) -> None:
        self.stderr.write(f"ghtrader: error: {message}\n")
        self.stderr.flush()
