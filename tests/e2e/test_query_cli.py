"""End to end: `ghtrader query` against a real `ghtrader serve` process on the embedded PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

GHTRADER = Path(sys.executable).with_name("ghtrader")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cli:
    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port = env, port

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(GHTRADER), "--port", str(self.port), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    tmp = tmp_path_factory.mktemp("querycli")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHTRADER_", "TQ"))}
    env.update(
        GHTRADER_DATA_DIR=str(tmp / "data"),
        GHTRADER_RUNS_DIR=str(tmp / "runs"),
        GHTRADER_ARTIFACTS_DIR=str(tmp / "artifacts"),
        GHTRADER_STORE="postgres",
        GHTRADER_GRPC_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [str(GHTRADER), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    run = Cli(env, port)
    try:
        deadline = time.monotonic() + 180
        while run("--timeout", "5", "status").returncode not in (0, 1):
            if proc.poll() is not None:
                raise AssertionError(f"server exited early: {proc.stderr.read() if proc.stderr else ''}")
            if time.monotonic() > deadline:
                raise AssertionError("server did not become ready in 180 s")
            time.sleep(0.5)
        yield run
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_table_output_over_a_project_table(cli: Cli) -> None:
    done = cli("query", "SELECT count(*) AS n, current_user AS who FROM ghtrader_ticks_raw_v2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["n", "who"] and lines[2].split() == ["0", "ghtrader_reader"]
    assert "1 row in" in done.stderr


def test_the_statement_from_stdin(cli: Cli) -> None:
    done = subprocess.run(
        [str(GHTRADER), "--port", str(cli.port), "query", "--format", "csv", "-"],
        input="-- a report\nSELECT 41 + 1 AS answer;\n",
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["answer", "42"]


def test_csv_for_piping(cli: Cli) -> None:
    done = cli(
        "query",
        "--format",
        "csv",
        "SELECT g, g * 0.5 AS half, NULL AS nothing, 'a,b' AS t FROM generate_series(1, 3) g ORDER BY g",
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows == [
        ["g", "half", "nothing", "t"],
        ["1", "0.5", "", "a,b"],
        ["2", "1.0", "", "a,b"],
        ["3", "1.5", "", "a,b"],
    ]


def test_json_is_typed_and_reports_truncation(cli: Cli) -> None:
    done = cli(
        "query",
        "--format",
        "json",
        "--limit",
        "2",
        "SELECT g, g::float8 / 4 AS q, NULL::text AS n, g > 1 AS b FROM generate_series(1, 5) g",
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert [c["name"] for c in payload["columns"]] == ["g", "q", "n", "b"]
    assert [c["type"] for c in payload["columns"]] == ["int4", "float8", "text", "bool"]
    assert payload["rows"] == [[1, 0.25, None, False], [2, 0.5, None, True]]
    assert payload["truncated"] is True and payload["truncated_by"] == "max_rows" and payload["row_count"] == 2
    assert payload["max_rows"] == 2 and payload["timeout_s"] == 5.0
    assert "ghtrader_reader" in payload["store"]


def test_refused_statements_exit_2_with_the_reason_and_change_nothing(cli: Cli) -> None:
    for statement, reason in [
        ("SELECT 1; DROP TABLE ghtrader_ticks_raw_v2", "exactly one statement"),
        ("DELETE FROM ghtrader_ticks_raw_v2", "only SELECT or WITH"),
        ("WITH d AS (DELETE FROM ghtrader_ticks_raw_v2 RETURNING *) SELECT * FROM d", "DELETE removes rows"),
        ("SELECT pg_read_file('/etc/hostname')", "pg_read_file()"),
        ("SELECT * FROM no_such_table", 'relation "no_such_table" does not exist'),
    ]:
        done = cli("query", statement)
        assert done.returncode == 2, (statement, done.stderr)
        assert reason in done.stderr, (statement, done.stderr)
    assert cli("query", "SELECT count(*) FROM ghtrader_ticks_raw_v2").returncode == 0


def test_a_statement_past_its_timeout_is_cancelled(cli: Cli) -> None:
    started = time.monotonic()
    done = cli("query", "--timeout-s", "0.5", "SELECT pg_sleep(30)")
    assert done.returncode == 3 and "timeout" in done.stderr and "RESOURCE_EXHAUSTED" in done.stderr
    assert time.monotonic() - started < 15


def test_bad_limit_is_a_usage_error(cli: Cli) -> None:
    assert cli("query", "--limit", "0", "SELECT 1").returncode == 2
    done = cli("query", "--limit", "100001", "SELECT 1")
    assert done.returncode == 2 and "max_rows" in done.stderr
