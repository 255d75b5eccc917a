"""ScandirDirectorySizer: bytes and files of regular files, symlinks not followed, a missing
folder explained, a walk past its budget cut and reported partial."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from ghtrader.adapters.host.directory_sizes import ScandirDirectorySizer


def test_counts_regular_files_and_does_not_follow_symlinks(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").mkdir()
    (tmp_path / "a" / "x.bin").write_bytes(b"x" * 1000)
    (tmp_path / "a" / "b" / "y.bin").write_bytes(b"y" * 24)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big.bin").write_bytes(b"z" * 5000)
    os.symlink(outside, tmp_path / "a" / "link")
    got = ScandirDirectorySizer().measure(str(tmp_path / "a"), budget_s=10.0)
    assert (got.bytes, got.files, got.partial, got.error) == (1024, 2, False, "")


def test_a_missing_folder_says_so(tmp_path: Path) -> None:
    got = ScandirDirectorySizer().measure(str(tmp_path / "nope"), budget_s=10.0)
    assert got.files == 0 and "not a folder" in got.error


def test_a_walk_over_its_budget_stops_and_is_partial(tmp_path: Path) -> None:
    for i in range(1000):
        (tmp_path / f"f{i}").write_bytes(b"1")
    ticks = itertools.count()  # every clock reading is one second later
    got = ScandirDirectorySizer(monotonic=lambda: float(next(ticks))).measure(str(tmp_path), budget_s=0.5)
    assert got.partial and 0 < got.files < 1000 and got.bytes == got.files
