"""End to end through `ghtrader serve` and the CLI: `alerts scan` (a job) stores the tick
detectors' events for downloaded synthetic ticks, `alerts list` filters them, a rescan adds
nothing, and `alerts watch` streams the events a later scan writes."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.test_record_train_cli import GHTRADER, Server, server  # noqa: F401  (the fixture)

pytestmark = pytest.mark.e2e

CONTRACT, START, MID, END = "SHFE.cu2611", "2026-10-12", "2026-10-13", "2026-10-14"
# INFO at a spread of twice its median: clean days then have events to list and watch
SERVER_ENV = {"GHTRADER_ANOMALY_THRESHOLDS": json.dumps({"spread_widening": {"info": 2}})}


def _ok(done: subprocess.CompletedProcess[str], what: str) -> dict:
    assert done.returncode == 0, f"{what}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def test_alerts_scan_list_and_watch(server: Server) -> None:  # noqa: F811
    _ok(server.cli("download", CONTRACT, "--start", START, "--end", END), "download")
    first = _ok(server.cli("--json", "alerts", "scan", "--symbol", CONTRACT, "--start", START, "--end", MID),
                "scan")["result"]  # fmt: skip
    assert first["days"] == 2 and first["ticks"] > 10_000 and first["ticks_lake"] == "raw"
    assert first["events"] > 0 and first["new_events"] == first["events"]
    assert first["by_severity"].get("CRITICAL", 0) == 0  # clean synthetic days

    listed = _ok(server.cli("--json", "alerts", "list", "--symbol", CONTRACT, "--limit", "10000"), "list")
    assert len(listed["events"]) == first["events"]
    assert all(e["symbol"] == CONTRACT and e["severity"] in ("INFO", "WARNING") for e in listed["events"])
    times = [e["datetime_ns"] for e in listed["events"]]
    assert times == sorted(times, reverse=True)
    spread = _ok(server.cli("--json", "alerts", "list", "--type", "spread_widening", "--severity", "info"), "list")
    assert spread["events"] and {e["anomaly_type"] for e in spread["events"]} == {"spread_widening"}
    assert _ok(server.cli("--json", "alerts", "list", "--severity", "critical"), "list")["events"] == []
    assert _ok(server.cli("--json", "alerts", "list", "--since", "2030-01-01"), "list")["events"] == []

    again = _ok(server.cli("--json", "alerts", "scan", "--symbol", CONTRACT, "--start", START, "--end", MID),
                "rescan")["result"]  # fmt: skip
    assert again["events"] == first["events"] and again["new_events"] == 0

    last_seq = max(e["seq"] for e in listed["events"])
    watch = subprocess.Popen(
        [str(GHTRADER), "--port", str(server.port), "--json", "alerts", "watch", "--count", "1", "--poll-s", "0.2",
         "--after-seq", str(last_seq)],
        env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        third = _ok(server.cli("--json", "alerts", "scan", "--symbol", CONTRACT, "--start", END, "--end", END),
                    "scan")["result"]  # fmt: skip
        assert third["new_events"] > 0, "the last day raised nothing new to watch"
        out, err = watch.communicate(timeout=60)
    finally:
        if watch.poll() is None:
            watch.kill()
    assert watch.returncode == 0, err
    seen = json.loads(out.splitlines()[0])
    assert seen["symbol"] == CONTRACT and seen["datetime_ns"] > max(times) and seen["seq"] > last_seq
