"""End to end through `ghtrader serve` and the CLI: `record` on the synthetic live feed and
`train` on a small synthetic window (download -> main-schedule -> main-l5 -> build -> train)."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

GHTRADER = Path(sys.executable).with_name("ghtrader")
SEED = 7


@dataclass
class Server:
    env: dict[str, str]
    port: int
    proc: subprocess.Popen[str]
    tmp: Path

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(GHTRADER), "--port", str(self.port), "--wait", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    """A `ghtrader serve` process on a free port; a test module's ``SERVER_ENV`` dict adds settings."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHTRADER_", "TQ"))}
    env.update(
        GHTRADER_DATA_DIR=str(tmp_path / "data"),
        GHTRADER_RUNS_DIR=str(tmp_path / "runs"),
        GHTRADER_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
        GHTRADER_STORE="postgres",
        GHTRADER_PROVIDER="synthetic",
        GHTRADER_SYNTHETIC_SEED=str(SEED),
        GHTRADER_SYNTHETIC_LIVE_SPEEDUP="30",
        GHTRADER_GRPC_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    env.update(getattr(request.module, "SERVER_ENV", {}))
    proc = subprocess.Popen(
        [str(GHTRADER), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    srv = Server(env, port, proc, tmp_path)
    try:
        deadline = time.monotonic() + 180
        while srv.cli("--timeout", "5", "--json", "status", timeout=60).returncode not in (0, 1):
            if proc.poll() is not None:
                raise AssertionError(f"server exited early: {proc.stderr.read() if proc.stderr else ''}")
            if time.monotonic() > deadline:
                raise AssertionError("server did not become ready in 180 s")
            time.sleep(0.5)
        yield srv
    finally:
        srv.stop()


def _stored_raw(tmp: Path, symbol: str) -> tuple[int, int]:
    """(rows in the raw tick table, rows the day index claims) for ``symbol``."""
    from ghtrader.adapters.postgres import open_postgres_stores

    bundle, close = open_postgres_stores(None, tmp / "data" / "postgres")
    try:
        with bundle.pool.connection() as conn:
            (stored,) = conn.execute(
                "SELECT count(*) FROM ghtrader_ticks_raw_v2 JOIN ghtrader_tick_series_v2 USING (series_key) "
                "WHERE symbol = %s AND ticks_lake = 'raw'",
                (symbol,),
            ).fetchone()
        indexed = sum(m.rows_total for m in bundle.index.manifests(symbol, "raw"))
        return int(stored), int(indexed)
    finally:
        close()


def _current_cu_contract(tmp: Path) -> str:
    """Today's synthetic main copper contract (the server's market: same seed and holiday list)."""
    from ghtrader.adapters.filesystem.calendar_cache import CachedHolidayCalendarSource
    from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig

    calendar = CachedHolidayCalendarSource(tmp / "calendar.json", None, logging.getLogger("e2e")).load()
    market = SyntheticMarket(SyntheticMarketConfig(seed=SEED), calendar)
    return market.main_contract("SHFE.cu", calendar.trading_day_of(time.time_ns()))


def test_record_stores_the_synthetic_live_ticks(server: Server) -> None:
    symbol = _current_cu_contract(server.tmp)

    as_json = server.cli("--json", "record", symbol, "--duration", "3")
    assert as_json.returncode == 0, as_json.stderr[-3000:]
    payload = json.loads(as_json.stdout)
    assert payload["ok"] is True
    first = payload["result"]
    assert first["symbols"] == [symbol]
    assert first["rows_written"] > 0 and first["rows_received"] >= first["rows_written"]
    assert first["flushes"] >= 1 and first["days_touched"] and {s for s, _ in first["days_touched"]} == {symbol}
    assert 3.0 <= first["duration_s"] < 30.0

    human = server.cli("record", symbol, "--duration", "3")
    assert human.returncode == 0, human.stderr[-3000:]
    match = re.search(rf"recorded {re.escape(symbol)}: ([\d,]+) rows written, (\d+) duplicates dropped", human.stdout)
    assert match, human.stdout
    second_rows = int(match.group(1).replace(",", ""))
    assert int(match.group(2)) > 0  # the second run's first batch replays ticks the first stored

    server.stop()
    stored, indexed = _stored_raw(server.tmp, symbol)
    assert stored == indexed == first["rows_written"] + second_rows


def test_train_on_a_small_synthetic_window(server: Server) -> None:
    # A thin far-month contract as the only one stored: the OI rule makes it "main", so every
    # step works on a few thousand ticks a day.
    contract, start, end = "SHFE.cu2705", "2026-10-12", "2026-10-21"
    from ghtrader.domain.factors import CORE_L5_FACTORS

    steps = [
        ("download", contract, "--start", start, "--end", end),
        ("main-schedule", "--var", "SHFE.cu", "--start", start, "--end", end),
        ("main-l5", "--var", "SHFE.cu", "--start", start, "--end", end),
        (
            "build",
            "KQ.m@SHFE.cu",
            "--start",
            start,
            "--end",
            end,
            "--horizons",
            "10",
            "--factors",
            ",".join(CORE_L5_FACTORS),
        ),
    ]
    for step in steps:
        done = server.cli(*step)
        assert done.returncode == 0, f"{step[0]}: {done.stdout[-2000:]}{done.stderr[-2000:]}"

    human = server.cli("train", "logistic", "--start", "2026-10-13", "--end", end, "--seed", "1")
    assert human.returncode == 0, human.stderr[-3000:]
    assert re.search(r"trained logistic logistic-KQ\.m@SHFE\.cu-h10 v1 \(development\): .*accuracy", human.stdout), (
        human.stdout
    )

    as_json = server.cli("--json", "train", "lightgbm", "--start", "2026-10-13", "--end", end, "--seed", "1")
    assert as_json.returncode == 0, as_json.stderr[-3000:]
    payload = json.loads(as_json.stdout)
    result = payload["result"]
    assert payload["ok"] is True and "trained lightgbm" in payload["summary"]
    assert result["entry"]["model_id"] == "lightgbm-KQ.m@SHFE.cu-h10" and result["entry"]["version"] == "1"
    assert result["metrics"]["n_valid"] > 500 and 0.0 <= result["metrics"]["accuracy"] <= 1.0
    meta = json.loads(Path(result["meta_path"]).read_text())
    assert Path(result["onnx_path"]).is_file() and meta["onnx"]["parity_max_abs_diff"] <= 1e-4
    assert meta["data"]["start_day"] == "2026-10-13" and meta["data"]["end_day"] == end
    # Calibrated on the training fold's tail; the calibrator is digested with the weights.
    assert meta["calibration"]["method"] == "logistic" and meta["calibration"]["rows"] >= 500
    assert "weights/calibration.json" in meta["weights"]["files"]

    models = server.cli("--json", "models")
    assert models.returncode == 0, models.stderr
    assert {m["model_type"] for m in json.loads(models.stdout)["models"]} == {"logistic", "lightgbm"}
