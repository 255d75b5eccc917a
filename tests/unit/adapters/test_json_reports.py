"""JsonFileReportSink: atomic JSON reports under runs/<kind>/<run_id>.json."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.filesystem.json_reports import JsonFileReportSink


def test_writes_replaces_and_serialises_common_values(tmp_path: Path) -> None:
    sink = JsonFileReportSink(tmp_path / "runs")
    payload = {"day": date(2024, 10, 8), "n": np.int64(3), "x": np.float64(0.5), "a": np.arange(3), "s": {2, 1}}
    path = Path(sink.write_json("ingest", "20241008T000000Z_SHFE.cu2410", payload))
    assert path == tmp_path / "runs" / "ingest" / "20241008T000000Z_SHFE.cu2410.json"
    assert json.loads(path.read_text()) == {"day": "2024-10-08", "n": 3, "x": 0.5, "a": [0, 1, 2], "s": [1, 2]}

    sink.write_json("ingest", "20241008T000000Z_SHFE.cu2410", {"v": 2})
    assert json.loads(path.read_text()) == {"v": 2}
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left behind


def test_a_failed_write_leaves_the_old_report(tmp_path: Path) -> None:
    sink = JsonFileReportSink(tmp_path)
    path = Path(sink.write_json("audit", "r1", {"ok": True}))
    with pytest.raises(TypeError):
        sink.write_json("audit", "r1", {"bad": object()})
    assert json.loads(path.read_text()) == {"ok": True}
    assert [p.name for p in path.parent.iterdir()] == ["r1.json"]


@pytest.mark.parametrize(("kind", "run_id"), [("../x", "r"), ("audit", "a/b"), ("audit", ".."), ("", "r")])
def test_path_like_names_are_refused(tmp_path: Path, kind: str, run_id: str) -> None:
    with pytest.raises(ValueError, match="invalid report"):
        JsonFileReportSink(tmp_path).write_json(kind, run_id, {})


def test_the_stamp_adds_the_code_version_to_every_report_unless_the_payload_sets_it(tmp_path: Path) -> None:
    sink = JsonFileReportSink(tmp_path, stamp=lambda: {"git_commit": "abc123def456", "git_dirty": True})
    path = Path(sink.write_json("backtest", "r1", {"pnl": 1.5}))
    assert json.loads(path.read_text()) == {"pnl": 1.5, "git_commit": "abc123def456", "git_dirty": True}
    path = Path(sink.write_json("backtest", "r2", {"git_commit": "mine"}))
    assert json.loads(path.read_text()) == {"git_commit": "mine", "git_dirty": True}


def test_the_run_manifest_store_writes_atomically_and_reads_back(tmp_path: Path) -> None:
    from ghtrader.adapters.filesystem.run_manifests import JsonRunManifestStore

    store = JsonRunManifestStore(tmp_path / "manifests")
    path = store.write(7, {"metrics": {"a": float("nan")}, "day": date(2026, 10, 13)})
    assert path == str(tmp_path / "manifests" / "job-7.json")
    back = store.read(path)
    assert back["day"] == "2026-10-13" and np.isnan(back["metrics"]["a"])
    store.write(7, {"v": 2})
    assert store.read(path) == {"v": 2} and [p.name for p in (tmp_path / "manifests").iterdir()] == ["job-7.json"]
    with pytest.raises(ValueError):
        store.write(0, {})
    with pytest.raises(FileNotFoundError):
        store.read(str(tmp_path / "manifests" / "job-8.json"))
