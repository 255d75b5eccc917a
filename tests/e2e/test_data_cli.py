"""End to end on the embedded PostgreSQL store through the real CLI and gRPC server:
idempotent downloads, audit verdicts on a corrupted row, and recovery from SIGKILL mid-ingest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GHTRADER = Path(sys.executable).with_name("ghtrader")
# A thin far-month contract keeps a whole month small (a few thousand ticks a day).
SYMBOL, START, END = "SHFE.cu2705", "2026-10-08", "2026-11-06"


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHTRADER_", "TQ"))}
    env.update(
        GHTRADER_DATA_DIR=str(tmp / "data"),
        GHTRADER_RUNS_DIR=str(tmp / "runs"),
        GHTRADER_ARTIFACTS_DIR=str(tmp / "artifacts"),
        GHTRADER_STORE="postgres",
        GHTRADER_PROVIDER="synthetic",
        PYTHONUNBUFFERED="1",
    )
    return env


def _cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GHTRADER), "--local", *args], env=env, capture_output=True, text=True, timeout=timeout)


def _manifests(tmp: Path) -> list[tuple]:
    from ghtrader.adapters.postgres import open_postgres_stores

    bundle, close = open_postgres_stores(None, tmp / "data" / "postgres")
    try:
        return [
            (
                m.symbol,
                m.trading_day,
                m.rows_total,
                m.first_datetime_ns,
                m.last_datetime_ns,
                m.row_hash_sum,
                m.row_hash_sum_abs,
            )
            for m in bundle.index.manifests(SYMBOL, "raw")
        ]
    finally:
        close()


def _sql(tmp: Path, statement: str) -> list[tuple]:
    from ghtrader.adapters.postgres import open_postgres_stores

    bundle, close = open_postgres_stores(None, tmp / "data" / "postgres")
    try:
        with bundle.pool.connection() as conn:
            cur = conn.execute(statement)
            rows = cur.fetchall() if cur.description else []
            conn.commit()
            return rows
    finally:
        close()


def test_download_twice_identical_manifests_then_audit_catches_a_corrupted_row(tmp_path: Path) -> None:
    env = _env(tmp_path)
    first = _cli(env, "--json", "download", SYMBOL, "--start", START, "--end", END)
    assert first.returncode == 0, first.stderr
    r1 = json.loads(first.stdout)["result"]
    assert r1["downloaded"] > 15 and r1["missing"] == 0
    before = _manifests(tmp_path)
    assert len(before) == r1["downloaded"]

    again = _cli(env, "--json", "download", SYMBOL, "--start", START, "--end", END, "--force")
    assert again.returncode == 0, again.stderr
    assert _manifests(tmp_path) == before  # a forced re-download changes no row and no manifest

    clean = _cli(env, "audit")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "audit clean" in clean.stdout

    day = before[3][1]
    _sql(
        tmp_path,
        "UPDATE ghtrader_ticks_raw_v2 SET last_price = last_price + 10 WHERE datetime_ns = ("
        "SELECT min(datetime_ns) FROM ghtrader_ticks_raw_v2 JOIN ghtrader_tick_series_v2 USING (series_key) "
        f"WHERE symbol = '{SYMBOL}' AND ticks_lake = 'raw' AND trading_day = '{day}')",
    )
    dirty = _cli(env, "--json", "audit")
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    findings = json.loads(dirty.stdout)["result"]["findings"]
    errors = [f for f in findings if f["severity"] == "error"]
    assert any(f["symbol"] == SYMBOL and f["trading_day"] == day.isoformat() for f in errors), errors
    human = _cli(env, "audit")
    assert human.returncode == 1 and SYMBOL in human.stdout and day.isoformat() in human.stdout


def test_sigkill_mid_ingest_then_rerun_completes_clean_without_duplicates(tmp_path: Path) -> None:
    env = _env(tmp_path)
    _cli(env, "status")  # initialise the embedded server and schema before the race
    proc = subprocess.Popen(
        [
            str(GHTRADER),
            "--local",
            "download",
            "SHFE.cu2612",
            "--start",
            "2026-10-12",
            "--end",
            "2026-11-06",
            "--chunk-days",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 240
    seen = ""
    while time.monotonic() < deadline:  # kill once a few days are in, while later ones are being written
        line = proc.stderr.readline()
        seen += line
        if "rows written" in line and seen.count("rows written") >= 3:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert seen.count("rows written") >= 3, seen[-2000:]

    rerun = _cli(env, "--json", "download", "SHFE.cu2612", "--start", "2026-10-12", "--end", "2026-11-06")
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["result"]["missing"] == 0
    audit = _cli(env, "audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    dupes = _sql(
        tmp_path,
        "SELECT count(*) FROM (SELECT series_key, datetime_ns FROM ghtrader_ticks_raw_v2 "
        "GROUP BY 1, 2 HAVING count(*) > 1) d",
    )
    assert dupes == [(0,)]
    total = _sql(
        tmp_path,
        "SELECT count(*) FROM ghtrader_ticks_raw_v2 JOIN ghtrader_tick_series_v2 USING (series_key) "
        "WHERE symbol = 'SHFE.cu2612' AND ticks_lake = 'raw'",
    )[0][0]
    indexed = sum(m[2] for m in _manifests_for(tmp_path, "SHFE.cu2612"))
    assert total == indexed


def _manifests_for(tmp: Path, symbol: str) -> list[tuple]:
    from ghtrader.adapters.postgres import open_postgres_stores

    bundle, close = open_postgres_stores(None, tmp / "data" / "postgres")
    try:
        return [(m.symbol, m.trading_day, m.rows_total) for m in bundle.index.manifests(symbol, "raw")]
    finally:
        close()


def test_run_pipeline_end_to_end_on_a_small_window(tmp_path: Path) -> None:
    env = _env(tmp_path)
    result = _cli(
        env, "--json", "run", "--var", "SHFE.au", "--days", "3", "--contracts", "2", "--end", "2026-11-20", timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    res = json.loads(result.stdout)["result"]
    assert [v["variety"] for v in res["varieties"]] == ["SHFE.au"]
    assert res["coverage"]["missing"] == 0 and res["audit"]["ok"] is True
    (ds,) = res["datasets"]
    assert ds["symbol"] == "KQ.m@SHFE.au" and ds["main_l5_days"] >= 2
    assert ds["feature_days"] == ds["main_l5_days"] == ds["label_days"] == ds["fill_label_days"]
    assert ds["feature_columns"] >= 80 and ds["label_columns"] == 6 and ds["fill_label_columns"] == 32
    assert ds["schedule_chart"].endswith(".html") and Path(ds["schedule_chart"]).is_file()
    assert res["audit"]["checks"]["main_l5"]["checked"] >= 2
