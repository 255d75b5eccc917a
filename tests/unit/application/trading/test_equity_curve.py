"""GetEquityCurve over the filesystem snapshots: every point when they fit, else at most
max_points keeping each bucket's low and high (a drawdown's bottom survives), PnL from the first
equity, the max drawdown over every snapshot; unknown runs NOT_FOUND."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.filesystem.run_snapshots import FilesystemRunSnapshots
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.trading.equity_curve import GetEquityCurve, minmax_indices


def write_run(root: Path, run_id: str, equity: list[float | None]) -> None:
    folder = root / run_id
    folder.mkdir(parents=True)
    lines = [
        json.dumps({"time_ns": 1_000 + i, "equity": e, "balance": 100.0, "positions": []}) for i, e in enumerate(equity)
    ]
    (folder / "snapshots.jsonl").write_text("\n".join(lines) + '\n{"time_ns": 9', encoding="utf-8")  # torn last line


def test_a_short_run_comes_back_whole_with_pnl_and_drawdown(tmp_path: Path) -> None:
    write_run(tmp_path, "paper-1", [100.0, 110.0, 95.0, None, 120.0])
    curve = GetEquityCurve(FilesystemRunSnapshots(tmp_path))("paper-1")
    assert curve.snapshots == 5 and curve.time_ns.tolist() == [1000, 1001, 1002, 1003, 1004]
    np.testing.assert_array_equal(curve.pnl, [0.0, 10.0, -5.0, np.nan, 20.0])
    assert curve.max_drawdown == 15.0


def test_a_long_run_is_downsampled_and_keeps_its_extremes(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    equity = 1e5 + np.cumsum(rng.normal(0, 10, 50_000))
    equity[31_337] -= 5_000  # a one-snapshot crash
    write_run(tmp_path, "long", equity.tolist())
    curve = GetEquityCurve(FilesystemRunSnapshots(tmp_path))("long", 2000)
    assert curve.snapshots == 50_000 and len(curve.equity) <= 2000
    assert 1000 + 31_337 in curve.time_ns.tolist()  # the crash is drawn
    assert curve.equity.max() == equity.max() and curve.time_ns[0] == 1000 and curve.time_ns[-1] == 1000 + 49_999
    assert np.all(np.diff(curve.time_ns) > 0)
    peak = np.maximum.accumulate(equity)
    assert curve.max_drawdown == pytest.approx(float(np.max(peak - equity)))


def test_unknown_runs_and_bad_limits_are_refused(tmp_path: Path) -> None:
    get = GetEquityCurve(FilesystemRunSnapshots(tmp_path))
    with pytest.raises(NotFound):
        get("nope")
    with pytest.raises(InvalidArgument):
        get("../etc")
    (tmp_path / "empty").mkdir()
    assert get("empty").snapshots == 0 and get("empty").max_drawdown == 0.0
    with pytest.raises(InvalidArgument):
        get("empty", 3000)


def test_minmax_indices_fit_within_the_budget() -> None:
    values = np.sin(np.linspace(0, 20, 10_001))
    for budget in (4, 10, 101, 2000):
        keep = minmax_indices(values, budget)
        assert len(keep) <= budget and keep[0] == 0 and keep[-1] == 10_000
    assert minmax_indices(values[:7], 10).tolist() == list(range(7))
