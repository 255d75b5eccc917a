"""End to end through the real CLI and gRPC server with the CSV provider on the embedded
PostgreSQL store: rejected rows named by file:line, unusable files named, unknown contracts
failing with exit 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from ghtrader.domain.calendar import beijing_datetime_to_ns
from ghtrader.domain.ticks import TICK_FIELDS, empty_ticks

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GHTRADER = Path(sys.executable).with_name("ghtrader")
SYMBOL = "SHFE.cu2701"
DAY = date(2026, 11, 4)  # a Wednesday, long past by the time this runs


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHTRADER_", "TQ"))}
    env.update(
        GHTRADER_DATA_DIR=str(tmp / "data"),
        GHTRADER_RUNS_DIR=str(tmp / "runs"),
        GHTRADER_ARTIFACTS_DIR=str(tmp / "artifacts"),
        GHTRADER_STORE="postgres",
        GHTRADER_PROVIDER="csv",
        GHTRADER_CSV_DIR=str(tmp / "csv"),
        PYTHONUNBUFFERED="1",
    )
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(GHTRADER), "--local", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _write_day(path: Path) -> None:
    n = 6
    arr = empty_ticks(n)
    t0 = beijing_datetime_to_ns(datetime(DAY.year, DAY.month, DAY.day, 9, 0, 1))
    arr["datetime_ns"] = t0 + np.arange(n, dtype=np.int64) * 500_000_000
    for name in ("last_price", "average", "highest", "lowest"):
        arr[name] = 80_000.0
    arr["volume"] = np.arange(1.0, n + 1)
    arr["amount"] = arr["volume"] * 400_000.0
    arr["open_interest"] = 1_000.0
    for i in range(1, 6):
        arr[f"bid_price{i}"] = 80_000.0 - 10 * i
        arr[f"ask_price{i}"] = 80_000.0 + 10 * i
        arr[f"bid_volume{i}"] = arr[f"ask_volume{i}"] = 1.0
    arr["ask_price1"][2] = 79_900.0  # crossed book on line 4
    lines = [",".join(TICK_FIELDS)]
    lines += [",".join([str(int(r["datetime_ns"]))] + [repr(float(r[f])) for f in TICK_FIELDS[1:]]) for r in arr]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_csv_download_lists_rejections_and_unknown_or_unusable_inputs_fail(tmp_path: Path) -> None:
    env = _env(tmp_path)
    (tmp_path / "csv").mkdir()
    path = tmp_path / "csv" / f"{SYMBOL}.csv"
    _write_day(path)

    done = _cli(env, "download", SYMBOL, "--start", str(DAY), "--end", str(DAY))
    assert done.returncode == 0, done.stderr
    assert f"rejected         {path}:4: crossed book" in done.stdout

    unknown = _cli(
        env, "--json", "download-contract-range", "--var", "SHFE.cu", "--first", "SHFE.cu2801", "--last", "SHFE.cu2803"
    )
    assert unknown.returncode == 1, unknown.stderr
    result = json.loads(unknown.stdout)["result"]
    assert "none of the contracts SHFE.cu2801..SHFE.cu2803 is in the csv catalog" in result["unknown_symbols"]

    (tmp_path / "csv" / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    broken = _cli(env, "download", SYMBOL, "--start", str(DAY), "--end", str(DAY))
    assert broken.returncode != 0
    assert f"{tmp_path / 'csv' / 'notes.csv'}: not a tick CSV" in broken.stderr + broken.stdout
