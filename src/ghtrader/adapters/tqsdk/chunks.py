"""Resumable download chunks: trading-day ranges kept as DataDownloader CSVs in a work dir.

Layout: ``<work_dir>/<symbol>/<YYYYMMDD>_<YYYYMMDD>.csv`` (first and last trading day of the
chunk) plus ``<same>.csv.done``, a small JSON marker written only once the CSV is complete and
final (all its days are before the current trading day). A chunk with a valid marker is never
downloaded again; a CSV without one (interrupted, or covering today) is.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

__all__ = ["Chunk", "ChunkStore", "Segment", "plan_segments"]

_NAME_RE = re.compile(r"([0-9]{8})_([0-9]{8})\.csv")


def _day_text(d: date) -> str:
    return d.strftime("%Y%m%d")


@dataclass(frozen=True, order=True)
class Chunk:
    """A download unit: the trading days ``start..end`` (inclusive) of one symbol."""

    start: date
    end: date

    @property
    def file_name(self) -> str:
        return f"{_day_text(self.start)}_{_day_text(self.end)}.csv"

    def covers(self, d: date) -> bool:
        return self.start <= d <= self.end


@dataclass(frozen=True)
class Segment:
    """Requested trading ``days`` served by one chunk; ``cached`` = the chunk is already done."""

    chunk: Chunk
    days: tuple[date, ...]
    cached: bool


def plan_segments(days: Sequence[date], done: Sequence[Chunk], chunk_days: int) -> list[Segment]:
    """Cover the sorted trading ``days`` with done chunks where possible and new chunks of at most
    ``chunk_days`` consecutive requested days elsewhere, in day order."""
    if chunk_days < 1:
        raise ValueError(f"chunk_days must be >= 1, got {chunk_days}")
    done_sorted = sorted(done)
    out: list[Segment] = []
    i = 0
    while i < len(days):
        d = days[i]
        hit = next((c for c in done_sorted if c.covers(d)), None)
        if hit is not None:
            j = i
            while j < len(days) and hit.covers(days[j]):
                j += 1
            out.append(Segment(hit, tuple(days[i:j]), cached=True))
        else:
            j = i
            while j < len(days) and j - i < chunk_days and not any(c.covers(days[j]) for c in done_sorted):
                j += 1
            out.append(Segment(Chunk(days[i], days[j - 1]), tuple(days[i:j]), cached=False))
        i = j
    return out


class ChunkStore:
    """The chunk files of one symbol under ``<work_dir>/<symbol>/``."""

    def __init__(self, work_dir: Path, symbol: str) -> None:
        if not symbol or "/" in symbol or symbol in (".", ".."):
            raise ValueError(f"invalid symbol for a download directory: {symbol!r}")
        self.dir = Path(work_dir) / symbol

    def csv_path(self, chunk: Chunk) -> Path:
        return self.dir / chunk.file_name

    def marker_path(self, chunk: Chunk) -> Path:
        return self.dir / (chunk.file_name + ".done")

    def part_path(self, chunk: Chunk) -> Path:
        """Where the download is written before it is complete."""
        return self.dir / (chunk.file_name + ".part")

    def done_chunks(self) -> list[Chunk]:
        """Chunks whose CSV is complete: a marker whose recorded size matches the CSV."""
        if not self.dir.is_dir():
            return []
        out = []
        for path in self.dir.iterdir():
            m = _NAME_RE.fullmatch(path.name)
            if m is None:
                continue
            try:
                chunk = Chunk(date.fromisoformat(_iso(m.group(1))), date.fromisoformat(_iso(m.group(2))))
            except ValueError:
                continue
            if chunk.start <= chunk.end and self.is_done(chunk):
                out.append(chunk)
        return sorted(out)

    def is_done(self, chunk: Chunk) -> bool:
        try:
            marker = json.loads(self.marker_path(chunk).read_text(encoding="utf-8"))
            return int(marker["bytes"]) == self.csv_path(chunk).stat().st_size
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def prepare(self, chunk: Chunk) -> Path:
        """Create the directory, drop any stale marker/part of ``chunk``; return the part path."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.marker_path(chunk).unlink(missing_ok=True)
        part = self.part_path(chunk)
        part.unlink(missing_ok=True)
        return part

    def commit(self, chunk: Chunk, *, rows: int, final: bool) -> Path:
        """Move the finished part file into place; write the done marker when ``final``."""
        csv = self.csv_path(chunk)
        os.replace(self.part_path(chunk), csv)
        if final:
            tmp = self.marker_path(chunk).with_suffix(".tmp")
            tmp.write_text(json.dumps({"rows": rows, "bytes": csv.stat().st_size}), encoding="utf-8")
            os.replace(tmp, self.marker_path(chunk))
        return csv


def _iso(yyyymmdd: str) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
