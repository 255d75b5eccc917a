"""End to end: `ghtrader serve` as a real process, the CLI as another, over real gRPC."""

from __future__ import annotations

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


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHTRADER_", "TQ"))}
    env.update(
        GHTRADER_DATA_DIR=str(tmp / "data"),
        GHTRADER_RUNS_DIR=str(tmp / "runs"),
        GHTRADER_ARTIFACTS_DIR=str(tmp / "artifacts"),
        GHTRADER_STORE="postgres",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GHTRADER), "--wait", *args], env=env, capture_output=True, text=True, timeout=timeout)


def _wait_ready(env: dict[str, str], port: int, proc: subprocess.Popen[str], token: str | None = None) -> None:
    deadline = time.monotonic() + 180
    args = ["--port", str(port), "--timeout", "5", "--json"] + (["--token", token] if token else [])
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read() if proc.stderr else ''}")
        result = _cli(env, *args, "status")
        if result.returncode in (0, 1):
            return
        time.sleep(0.5)
    raise AssertionError("server did not become ready in 180 s")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[dict[str, str], int, subprocess.Popen[str]]]:
    port = _free_port()
    env = _env(tmp_path, GHTRADER_GRPC_PORT=str(port), GHTRADER_API_TOKEN="e2e-token")
    proc = subprocess.Popen(
        [str(GHTRADER), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_ready(env, port, proc, token="e2e-token")
        yield env, port, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_status_human_and_json(server: tuple[dict[str, str], int, subprocess.Popen[str]]) -> None:
    env, port, _ = server
    human = _cli(env, "--port", str(port), "status")
    assert human.returncode == 0, human.stderr
    assert "ghTrader" in human.stdout and "postgres: reachable" in human.stdout
    as_json = _cli(env, "--port", str(port), "--json", "status")
    payload = json.loads(as_json.stdout)
    assert payload["store_reachable"] is True and payload["store_backend"] == "postgres"
    assert payload["uptime_seconds"] > 0
    assert {d["path"] for d in payload["disks"]} == {
        env["GHTRADER_DATA_DIR"],
        env["GHTRADER_RUNS_DIR"],
        env["GHTRADER_ARTIFACTS_DIR"],
    }
    assert "e2e-token" not in human.stdout + as_json.stdout


def test_wrong_token_is_refused(server: tuple[dict[str, str], int, subprocess.Popen[str]]) -> None:
    env, port, _ = server
    result = _cli(env, "--port", str(port), "--token", "wrong", "status")
    assert result.returncode == 3
    assert "UNAUTHENTICATED" in result.stderr


def test_sigterm_shuts_down_gracefully(server: tuple[dict[str, str], int, subprocess.Popen[str]]) -> None:
    env, port, proc = server
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert "shutting down" in (proc.stderr.read() if proc.stderr else "")
    after = _cli(env, "--port", str(port), "--timeout", "3", "status")
    assert after.returncode == 2 and "ghtrader serve" in after.stderr


def test_binding_all_interfaces_without_token_is_refused(tmp_path: Path) -> None:
    env = _env(tmp_path)
    result = _cli(env, "--host", "0.0.0.0", "--port", str(_free_port()), "serve", timeout=60)
    assert result.returncode == 2
    assert "refusing to bind 0.0.0.0" in result.stderr


def test_local_mode_runs_an_in_process_server(tmp_path: Path) -> None:
    result = _cli(_env(tmp_path), "--local", "--json", "status")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["store_reachable"] is True


def test_flags_after_the_command_and_a_refused_argument_exits_2(
    server: tuple[dict[str, str], int, subprocess.Popen[str]],
) -> None:
    env, port, _ = server
    result = _cli(env, "status", "--json", "--port", str(port))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["store_reachable"] is True
    bad = _cli(env, "download", "SHFE.cu99", "--start", "2024-01-02", "--end", "2024-01-05", "--port", str(port))
    assert bad.returncode == 2, bad.stderr
    assert "invalid argument" in bad.stderr and "SHFE.cu99" in bad.stderr
