"""End to end, one test per CLI command: a real `ghtrader serve` process on the embedded
PostgreSQL store and the synthetic market, and the CLI as a separate process for every call.

The tests form one ordered chain sharing one server and one data directory (CI has 2 cores):
download a short 2025 window of two copper contracts, check coverage, derive the roll schedule,
main_l5 and the datasets, benchmark and compare the `logistic` family, run the main job, then
audit everything. `fill-missing` and `update` work on gold/silver contracts near today (the only
days they can reach) and stay cheap by touching only thin or recent contracts.

Each test checks the exit code, the human output and the `--json` output against each other;
where a command is idempotent, the second call (in the other output mode) must do nothing.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GHTRADER = Path(sys.executable).with_name("ghtrader")

# Copper rolls from cu2504 to cu2505 at the close of 2025-03-21 (OI ratio crosses 1.1 that day),
# so this window holds both segments. 5 trading days: 03-20, 21, 24, 25, 26; the schedule starts
# the day after the first (the first day only picks the initial main).
VAR, C1, C2 = "SHFE.cu", "SHFE.cu2504", "SHFE.cu2505"
START, END, DAYS = "2025-03-20", "2025-03-26", 5
MAIN = "KQ.m@SHFE.cu"
SCHEDULED = ("2025-03-21", "2025-03-24", "2025-03-25", "2025-03-26")
# Walk-forward scope kept small: 4 main_l5 days give 2 day-sized test folds.
SCOPE = ("--start", START, "--end", END, "--max-train-rows", "5000", "--seed", "3")

# Values carried from one test of the chain to a later one.
SEEN: dict[str, Any] = {}


def _nan_paths(obj: Any, path: str = "$") -> list[str]:
    """Where a parsed --json payload holds NaN or +-Infinity (not JSON; `jq` and strict parsers reject them)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return [path]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in _nan_paths(v, f"{path}.{k}")]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in _nan_paths(v, f"{path}[{i}]")]
    return []


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _line(pattern: str, text: str) -> re.Match[str]:
    m = re.search(pattern, text, re.MULTILINE)
    assert m, f"no line matching {pattern!r} in:\n{text}"
    return m


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Ghtrader:
    """The CLI pointed at the module's server."""

    env: dict[str, str]
    port: int
    root: Path
    invalid_json: list[str] = field(default_factory=list)

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(GHTRADER), "--port", str(self.port), "--wait", *args],
            check=False,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def human(self, *args: str, rc: int = 0) -> str:
        r = self.cli(*args)
        assert r.returncode == rc, f"exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        return r.stdout

    def json(self, *args: str, rc: int = 0) -> Any:
        r = self.cli("--json", *args)
        assert r.returncode == rc, f"exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        payload = json.loads(r.stdout)
        self.invalid_json += [f"{' '.join(args[:2])}: {p}" for p in _nan_paths(payload)]
        return payload

    def assert_json_was_valid(self) -> None:
        """Checked last in a test, so that the other checks of the command still run."""
        bad, self.invalid_json[:] = list(self.invalid_json), []
        assert not bad, f"--json output held NaN/Infinity (invalid JSON) at {bad[:10]}{' ...' if len(bad) > 10 else ''}"


@pytest.fixture(scope="module")
def gt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ghtrader]:
    root = tmp_path_factory.mktemp("cli_commands")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHTRADER_", "TQ"))}
    env.update(
        GHTRADER_DATA_DIR=str(root / "data"),
        GHTRADER_RUNS_DIR=str(root / "runs"),
        GHTRADER_ARTIFACTS_DIR=str(root / "artifacts"),
        GHTRADER_STORE="postgres",
        GHTRADER_PROVIDER="synthetic",
        GHTRADER_GRPC_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    log = (root / "serve.log").open("w")  # a file, not a pipe: a full pipe would block the server
    proc = subprocess.Popen([str(GHTRADER), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    g = Ghtrader(env, port, root)
    try:
        deadline = time.monotonic() + 180
        while g.cli("--timeout", "5", "status", timeout=60).returncode != 0:
            assert proc.poll() is None, (root / "serve.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "server not ready in 180 s"
            time.sleep(0.5)
        yield g
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(autouse=True)
def _fresh_json_log(gt: Ghtrader) -> None:
    gt.invalid_json.clear()


def _today() -> date:
    return datetime.now(UTC).date()


# --- status ------------------------------------------------------------------------------------
def test_status(gt: Ghtrader) -> None:
    human = gt.human("status")
    assert human.startswith("ghTrader ")
    _line(r"^  store\s+postgres: reachable - PostgreSQL \d+", human)
    _line(r"^  provider\s+synthetic$", human)
    payload = gt.json("status")
    assert payload["store_backend"] == "postgres" and payload["store_reachable"] is True
    assert payload["provider"] == "synthetic"
    assert human.startswith(f"ghTrader {payload['version']} (commit {payload['git_commit']})")
    assert f"of {payload['cpu_count']} cores" in human
    assert {d["path"] for d in payload["disks"]} == {
        gt.env[k] for k in ("GHTRADER_DATA_DIR", "GHTRADER_RUNS_DIR", "GHTRADER_ARTIFACTS_DIR")
    }
    gt.assert_json_was_valid()


# --- ingest ------------------------------------------------------------------------------------
def test_download_then_a_repeat_downloads_nothing(gt: Ghtrader) -> None:
    human = gt.human("download", C1, "--start", START, "--end", END)
    m = _line(
        rf"^{C1} {START}\.\.{END}: {DAYS} days downloaded, 0 no-data, 0 already present, 0 missing, ([\d,]+) rows, 0 rejected",
        human,
    )
    rows = _int(m.group(1))
    assert rows > 10_000  # the front month: tens of thousands of ticks a day
    _line(rf"^  requested\s+{DAYS}$", human)
    _line(rf"^  rows written\s+{rows}$", human)
    report = Path(_line(r"^  report\s+(\S+)$", human).group(1))
    assert report.is_file() and report.is_relative_to(gt.root / "runs")

    again = gt.json("download", C1, "--start", START, "--end", END)
    res = again["result"]
    assert again["ok"] is True
    assert (res["symbol"], res["start_day"], res["end_day"]) == (C1, START, END)
    assert res["requested"] == DAYS and res["present_before"] == DAYS
    assert res["downloaded"] == res["rows_written"] == res["missing"] == res["no_data"] == 0
    assert again["summary"].startswith(
        f"{C1} {START}..{END}: 0 days downloaded, 0 no-data, {DAYS} already present, 0 missing, 0 rows"
    )
    assert again["report_path"] == res["report_path"] and Path(res["report_path"]).is_file()
    assert res["report_path"] != str(report)  # every run leaves its own report
    SEEN["c1_rows"] = rows
    gt.assert_json_was_valid()


def test_download_contract_range_skips_what_is_present(gt: Ghtrader) -> None:
    payload = gt.json(
        "download-contract-range", "--var", VAR, "--first", C1, "--last", C2, "--start", START, "--end", END
    )
    res = payload["result"]
    assert payload["ok"] is True
    by = {c["symbol"]: c for c in res["contracts"]}
    assert set(by) == {C1, C2}
    assert (by[C1]["present_before"], by[C1]["downloaded"], by[C1]["rows_written"]) == (DAYS, 0, 0)
    assert (by[C2]["present_before"], by[C2]["downloaded"], by[C2]["missing"]) == (0, DAYS, 0)
    assert by[C2]["rows_written"] > 10_000
    assert res["downloaded"] == DAYS == sum(c["downloaded"] for c in by.values())
    assert res["rows_written"] == sum(c["rows_written"] for c in by.values())
    assert res["missing"] == res["no_data"] == 0
    assert payload["summary"].startswith(
        f"downloaded {VAR}: 2 contracts, {DAYS} days downloaded, 0 no-data, 0 missing, {res['rows_written']:,} rows"
    )
    SEEN["c2_rows"] = by[C2]["rows_written"]

    human = gt.human(
        "download-contract-range", "--var", VAR, "--first", C1, "--last", C2, "--start", START, "--end", END
    )
    _line(rf"^downloaded {VAR}: 2 contracts, 0 days downloaded, 0 no-data, 0 missing, 0 rows", human)
    _line(r"^  downloaded\s+0$", human)
    _line(r"^  rows written\s+0$", human)
    # One readable line (or table row) per contract, not a dump of Python dicts.
    assert "{'" not in human, human
    gt.assert_json_was_valid()


# --- coverage tools ----------------------------------------------------------------------------
def test_data_verify(gt: Ghtrader) -> None:
    payload = gt.json("data", "verify", "--var", VAR, "--start", START, "--end", END)
    res = payload["result"]
    assert payload["ok"] is True
    by = {c["symbol"]: c for c in res["contracts"]}
    assert set(by) == {C1, C2}
    for c in by.values():
        assert (c["expected"], c["present"], c["no_data"], c["missing"]) == (DAYS, DAYS, 0, 0)
        assert (c["window_start"], c["window_end"], c["missing_days"]) == (START, END, [])
    assert (res["expected"], res["present"], res["no_data"], res["missing"]) == (2 * DAYS, 2 * DAYS, 0, 0)
    assert len(res["unindexed"]) > 100 and C1 not in res["unindexed"]  # every other listed cu contract

    human = gt.human("data", "verify", "--var", VAR, "--start", START, "--end", END)
    _line(
        rf"^verify: 2 contracts, expected {2 * DAYS} days, present {2 * DAYS}, no-data 0, missing 0, "
        rf"{len(res['unindexed'])} unindexed",
        human,
    )
    for sym in (C1, C2):
        _line(rf"^{sym}\s+{DAYS}\s+{DAYS}\s+0\s+0$", human)
    gt.assert_json_was_valid()


def test_data_status(gt: Ghtrader) -> None:
    payload = gt.json("data", "status", "--var", VAR)
    assert payload["variety"] == VAR
    by = {c["symbol"]: c for c in payload["contracts"]}
    assert sum(payload["counts"].values()) == len(by)
    assert payload["counts"]["missing"] == 2 and payload["counts"]["unindexed"] == len(by) - 2
    human = gt.human("data", "status", "--var", VAR)
    counts = ", ".join(f"{k} {n}" for k, n in sorted(payload["counts"].items()))
    assert human.splitlines()[0] == f"{VAR}: {counts}"
    for sym in (C1, C2):
        c = by[sym]
        # Both contracts live for months around the window: present 5, the rest of their life missing.
        assert c["status"] == "missing" and c["present_days"] == DAYS and c["no_data_days"] == 0
        assert (c["first_present_day"], c["last_present_day"]) == (START, END)
        assert c["missing_days"] == c["expected_days"] - DAYS > 100
        _line(rf"^{sym}\s+missing\s+{c['expected_days']}\s+{DAYS}\s+0\s+{c['missing_days']}\s+{END}$", human)
    gt.assert_json_was_valid()


def test_data_bootstrap_index_finds_the_index_intact(gt: Ghtrader) -> None:
    payload = gt.json("data", "bootstrap-index", C1, C2)
    res = payload["result"]
    assert payload["ok"] is True
    assert res["symbols"] == 2 and res["days"] == 2 * DAYS and res["unchanged"] == 2 * DAYS
    assert res["added"] == res["changed"] == res["removed"] == res["no_data_cleared"] == 0
    assert res["per_symbol"][f"raw:{C1}"]["days"] == DAYS and res["per_symbol"][f"raw:{C2}"]["unchanged"] == DAYS
    human = gt.human("data", "bootstrap-index", C1, C2)
    _line(rf"^bootstrap-index: 2 symbols, {2 * DAYS} days; 0 added, 0 changed, {2 * DAYS} unchanged, 0 removed", human)
    _line(r"^  symbols\s+2$", human)
    gt.assert_json_was_valid()


# --- datasets ----------------------------------------------------------------------------------
def test_main_schedule_rolls_once_in_the_window(gt: Ghtrader) -> None:
    human = gt.human("main-schedule", "--var", VAR, "--start", START, "--end", END)
    short_hash = _line(
        rf"^main-schedule {VAR}: 4 days {SCHEDULED[0]}\.\.{END}, 2 segments, hash ([0-9a-f]{{12}}) \(changed\)$", human
    ).group(1)
    _line(rf"^0\s+{C1}\s+2025-03-21\s+2025-03-21$", human)
    _line(rf"^1\s+{C2}\s+2025-03-24\s+{END}$", human)
    chart = Path(_line(r"^  chart\s+(\S+)$", human).group(1))
    assert chart.is_file() and chart.name.endswith("_chart.html")

    payload = gt.json("main-schedule", "--var", VAR, "--start", START, "--end", END)
    res = payload["result"]
    assert payload["ok"] is True and res["changed"] is False and payload["summary"].endswith("(unchanged)")
    assert res["schedule_hash"].startswith(short_hash)
    assert (res["first_day"], res["last_day"], res["rows"]) == (SCHEDULED[0], END, 4)
    assert res["contracts"] == [C1, C2]
    assert [(s["segment_id"], s["contract"], s["first_day"], s["last_day"]) for s in res["segments"]] == [
        (0, C1, "2025-03-21", "2025-03-21"),
        (1, C2, "2025-03-24", END),
    ]
    assert Path(res["chart_path"]).is_file()
    gt.assert_json_was_valid()


def test_main_l5_then_a_repeat_rebuilds_nothing(gt: Ghtrader) -> None:
    human = gt.human("main-l5", "--var", VAR, "--start", START, "--end", END)
    rows = _int(
        _line(
            rf"^main-l5 {re.escape(MAIN)}: 4 scheduled days, 4 built, 0 unchanged, 0 missing source, ([\d,]+) rows",
            human,
        ).group(1)
    )
    # Spliced from the two contracts on their scheduled days: fewer rows than both raw series together.
    assert 10_000 < rows < SEEN.get("c1_rows", 10**9) + SEEN.get("c2_rows", 10**9)
    _line(r"^  days built\s+4$", human)
    _line(rf"^  rows written\s+{rows}$", human)
    payload = gt.json("main-l5", "--var", VAR, "--start", START, "--end", END)
    res = payload["result"]
    assert payload["ok"] is True
    assert (res["days_scheduled"], res["days_built"], res["days_unchanged"], res["rows_written"]) == (4, 0, 4, 0)
    assert res["missing_days"] == []
    SEEN["main_l5_rows"] = rows
    gt.assert_json_was_valid()


def test_build_features_and_labels_then_a_repeat_is_up_to_date(gt: Ghtrader) -> None:
    human = gt.human("build", MAIN, "--start", START, "--end", END)
    _line(
        rf"^build {re.escape(MAIN)} \(main_l5\): features: 4 days written, 0 up to date, 126 columns, "
        r"labels: 4 days written, 0 up to date, 6 columns, fill_labels: 4 days written, 0 up to date, 32 columns",
        human,
    )
    rows = SEEN.get("main_l5_rows", r"\d+")  # one feature/label row per main_l5 tick
    hashes = {}
    for kind, cols in (("features", 126), ("labels", 6), ("fill_labels", 32)):
        hashes[kind] = _line(rf"^{kind}\s+([0-9a-f]{{12}})\s+4\s+0\s+{cols}\s+{rows}$", human).group(1)

    payload = gt.json("build", MAIN, "--start", START, "--end", END)
    res = payload["result"]
    assert payload["ok"] is True and (res["symbol"], res["ticks_lake"]) == (MAIN, "main_l5")
    assert set(res["kinds"]) == set(hashes)
    for kind, k in res["kinds"].items():
        assert k["config_hash"].startswith(hashes[kind])
        assert (k["days_written"], k["days_up_to_date"], k["rows_written"]) == ([], 4, 0)
    assert len(res["kinds"]["features"]["columns"]) == 126 and res["registry"]["registered"] == 126
    gt.assert_json_was_valid()


# --- research ----------------------------------------------------------------------------------
def test_benchmark_logistic(gt: Ghtrader) -> None:
    human = gt.human("benchmark", "logistic", *SCOPE)
    m = _line(
        rf"^benchmark logistic on {re.escape(MAIN)} h10: 2 splits, macro-F1 (\d\.\d{{3}})±(\d\.\d{{3}}), accuracy (\d\.\d{{3}})±",
        human,
    )
    html = Path(_line(r"^  report\s+(\S+)$", human).group(1))
    assert html.is_file() and html.suffix == ".html"

    payload = gt.json("benchmark", "logistic", *SCOPE)
    res = payload["result"]
    assert payload["ok"] is True
    assert (res["family"], res["symbol"], res["horizon"]) == ("logistic", MAIN, 10)
    assert (res["n_splits_requested"], res["n_splits"], len(res["folds"])) == (5, 2, 2)
    f1 = res["summary"]["macro_f1"]
    assert f1["n"] == 2 and 0.0 < f1["mean"] < 1.0
    # Same scope and seed: the JSON run reproduces the human run's numbers.
    assert (f"{f1['mean']:.3f}", f"{f1['std']:.3f}") == (m.group(1), m.group(2))
    assert f"{res['summary']['accuracy']['mean']:.3f}" == m.group(3)
    _line(rf"^macro_f1\s+{f1['mean']:.4g} ± {f1['std']:.2g}$", human)
    SEEN["logistic_macro_f1"] = f1["mean"]
    gt.assert_json_was_valid()


def test_compare_logistic_and_lightgbm_on_identical_splits(gt: Ghtrader) -> None:
    payload = gt.json("compare", "--models", "logistic,lightgbm", *SCOPE)
    res = payload["result"]
    assert payload["ok"] is True
    assert res["families"][:2] == ["logistic", "lightgbm"] or res["families"] == ["logistic", "lightgbm"]
    table = res["table"]
    for family in ("logistic", "lightgbm"):
        assert table["macro_f1"][family]["n"] == 2 and 0.0 < table["macro_f1"][family]["mean"] < 1.0
    if "logistic_macro_f1" in SEEN:  # identical splits and seed as the benchmark
        assert table["macro_f1"]["logistic"]["mean"] == pytest.approx(SEEN["logistic_macro_f1"], abs=1e-9)

    human = gt.human("compare", "--models", "logistic,lightgbm", *SCOPE)
    header = _line(r"^metric\s+(.+)$", human).group(1).split()
    assert header == list(res["families"])
    cells = "\\s+".join(
        re.escape(f"{table['macro_f1'][f]['mean']:.4g} ± {table['macro_f1'][f]['std']:.2g}") for f in header
    )
    _line(rf"^macro_f1\s+{cells}$", human)
    html = Path(_line(r"^  report\s+(\S+)$", human).group(1))
    assert html.is_file()
    gt.assert_json_was_valid()


# --- the main job ------------------------------------------------------------------------------
def test_run_skip_research_then_a_repeat_ingests_nothing(gt: Ghtrader) -> None:
    args = ("run", "--var", VAR, "--days", str(DAYS), "--contracts", "2", "--end", END, "--skip-research")
    human = gt.human(*args)
    # the window's mains (cu2504 from the provider's earlier history) plus the top 2 by end-day OI
    m = _line(
        rf"^pipeline {START}\.\.{END} \({DAYS} trading days\): 3 contracts, ([\d,]+) rows ingested, coverage missing 0, audit clean",
        human,
    )
    first_rows = _int(m.group(1))
    _line(r"^Audit: clean$", human)
    _line(rf"^Coverage {START}\.\.{END}$", human)
    # seeded with the main of the day before the window, the schedule covers all 5 days
    _line(rf"^{re.escape(MAIN)}\s+{C1} \({START}\.\.2025-03-21\) -> {C2} \(2025-03-24\.\.{END}\)\s+5\s+", human)
    _line(rf"^{re.escape(MAIN)}\s+5\s+126\s+5\s+6\s+5\s+32$", human)

    payload = gt.json(*args)
    res = payload["result"]
    assert payload["ok"] is True and res.get("research") is None
    assert (res["start_day"], res["end_day"], res["trading_days"]) == (START, END, DAYS)
    (v,) = res["varieties"]
    assert v["variety"] == VAR and len(v["contracts"]) == 3 and v["rows_written"] == 0  # all present now
    for sym in v["contracts"]:  # the human Ingest table named the same contracts with their EOD OI
        _line(rf"^{VAR}\s+{sym}\s+{v['eod_open_interest'][sym]:,.0f}$", human)
    assert first_rows >= 0 and res["coverage"]["missing"] == 0
    assert {c["symbol"] for c in res["coverage"]["contracts"]} == set(v["contracts"])
    (ds,) = res["datasets"]
    assert ds["symbol"] == MAIN and ds["main_l5_days"] == 5 and ds["main_l5_rows"] == 0
    assert ds["feature_days"] == ds["label_days"] == ds["fill_label_days"] == 5
    assert ds["segments"] == [[C1, START, "2025-03-21"], [C2, "2025-03-24", END]]
    assert Path(ds["schedule_chart"]).is_file()
    assert res["audit"]["ok"] is True and res["audit"]["checks"]["main_l5"]["checked"] >= 5
    gt.assert_json_was_valid()


# --- fill-missing and update: days only exist up to today, so they use today's contracts ------
def _newest_contract(gt: Ghtrader, variety: str, min_days: int) -> dict[str, Any]:
    """The most recently listed contract with at least ``min_days`` expected trading days."""
    contracts = gt.json("data", "status", "--var", variety)["contracts"]
    recent = [c for c in contracts[-14:] if c["expected_days"] >= min_days]
    return min(recent, key=lambda c: c["expected_days"])


def test_data_fill_missing_downloads_exactly_the_missing_days(gt: Ghtrader) -> None:
    # A newly listed silver contract: a thin book and a life of a few weeks keep this cheap.
    # 15 expected days, at most 10 of them in the last 14 calendar days: some are always missing.
    sym = _newest_contract(gt, "SHFE.ag", 15)["symbol"]
    today = _today()
    seed = gt.json("download", sym, "--start", (today - timedelta(days=14)).isoformat(), "--end", today.isoformat())
    assert seed["result"]["downloaded"] >= 1
    before = gt.json("data", "verify", sym, rc=1)["result"]  # exit 1: days are missing
    (c,) = before["contracts"]
    assert c["missing"] == len(c["missing_days"]) > 0 and c["present"] == seed["result"]["downloaded"]

    human = gt.human("data", "fill-missing", "--var", "SHFE.ag")
    m = _line(
        r"^fill-missing \(normal\): filled SHFE\.ag: 1 contracts, (\d+) days downloaded, (\d+) no-data, 0 missing, ([\d,]+) rows",
        human,
    )
    downloaded, no_data, rows = int(m.group(1)), int(m.group(2)), _int(m.group(3))
    assert downloaded + no_data == c["missing"] and downloaded > 0 and rows > 0

    after = gt.json("data", "verify", sym)["result"]
    assert after["missing"] == 0 and after["present"] == c["present"] + downloaded

    again = gt.json("data", "fill-missing", "--var", "SHFE.ag")
    res = again["result"]
    assert again["ok"] is True and (res["mode"], res["days_requested"]) == ("normal", 0)
    assert res["download"]["downloaded"] == res["download"]["rows_written"] == res["download"]["missing"] == 0
    assert again["summary"].startswith("fill-missing (normal): filled SHFE.ag: 0 contracts, 0 days downloaded")
    gt.assert_json_was_valid()


def test_update_forward_fills_every_active_contract(gt: Ghtrader) -> None:
    today = _today()
    symbols = [c["symbol"] for c in gt.json("data", "status", "--var", "SHFE.au")["contracts"]]
    # Seed the listed and recently expired contracts over a past stretch (13 calendar days always
    # hold trading days), so that update only has the days since then to fetch.
    seed_end = today - timedelta(days=12)
    seed = gt.json(
        "download-contract-range",
        "--var",
        "SHFE.au",
        "--first",
        symbols[-15],
        "--last",
        symbols[-1],
        "--start",
        (seed_end - timedelta(days=12)).isoformat(),
        "--end",
        seed_end.isoformat(),
    )
    seeded = {c["symbol"] for c in seed["result"]["contracts"] if c["downloaded"] > 0}
    assert len(seeded) >= 10

    human = gt.human("update", "--var", "SHFE.au")
    downloaded = _int(_line(r"^  downloaded\s+(\d+)$", human).group(1))
    assert downloaded >= len(seeded)  # at least one new day for every seeded contract
    assert _int(_line(r"^  rows written\s+(\d+)$", human).group(1)) > 0
    verify = gt.json("data", "verify", "--var", "SHFE.au", "--start", seed_end.isoformat())["result"]
    # Everything present from the seed up to the last completed trading day (or the expiry).
    assert verify["missing"] == 0
    assert {c["symbol"] for c in verify["contracts"]} >= seeded
    # A thin far month can have no ticks on a day (a no-data day, not a missing one): "covered"
    # means present or confirmed empty.
    alive = [c for c in verify["contracts"] if c["window_end"] == verify["today"]]
    assert len(alive) >= 10 and all(c["last_covered"] == verify["today"] for c in alive)
    assert sum(c["last_present"] == verify["today"] for c in alive) >= len(alive) // 2
    assert all(c["last_covered"] == c["window_end"] for c in verify["contracts"] if c["expected"])
    # A second update has nothing to do.
    again = gt.json("update", "--var", "SHFE.au")
    assert again["ok"] is True and again["result"]["downloaded"] == again["result"]["rows_written"] == 0
    gt.assert_json_was_valid()


# --- registry and integrity --------------------------------------------------------------------
def test_models_lists_the_registry(gt: Ghtrader) -> None:
    payload = gt.json("models")
    human = gt.human("models")
    assert human.splitlines()[0].split() == ["model_id", "version", "type", "status", "macro_f1", "artifacts"]
    assert len(human.strip().splitlines()) == 2 + len(payload["models"])
    for m in payload["models"]:
        _line(rf"^{re.escape(m['model_id'])}\s+{m['version']}\s+{m['model_type']}\s+{m['status']}\s+", human)
    gt.assert_json_was_valid()


def test_audit_of_everything_is_clean(gt: Ghtrader) -> None:
    payload = gt.json("audit")
    res = payload["result"]
    assert payload["ok"] is True and res["ok"] is True and res["findings"] == []
    assert res["checks"]["main_l5"]["checked"] >= 4 and res["checks"]["row_hash"]["checked"] >= 2 * DAYS
    assert all(c["errors"] == 0 for c in res["checks"].values())
    human = gt.human("audit", MAIN, C1)
    m = _line(r"^audit clean: 2 symbols, (\d+) partitions read, 0 errors, 0 warnings", human)
    assert int(m.group(1)) >= 4 + DAYS
    assert Path(_line(r"^  report\s+(\S+)$", human).group(1)).is_file()
    gt.assert_json_was_valid()


def _sql(root: Path, statement: str) -> None:
    """One statement on the module's embedded PostgreSQL (beside the running server)."""
    from ghtrader.adapters.postgres import open_postgres_stores

    bundle, close = open_postgres_stores(None, root / "data" / "postgres")
    try:
        with bundle.pool.connection() as conn:
            conn.execute(statement)
            conn.commit()
    finally:
        close()


def test_run_after_a_corrupted_row_exits_1_and_names_the_audit_failure(gt: Ghtrader) -> None:
    # last: it leaves the store dirty on purpose
    _sql(
        gt.root,
        "UPDATE ghtrader_ticks_raw_v2 SET last_price = last_price + 10 WHERE datetime_ns = ("
        "SELECT min(datetime_ns) FROM ghtrader_ticks_raw_v2 JOIN ghtrader_tick_series_v2 USING (series_key) "
        f"WHERE symbol = '{C2}' AND ticks_lake = 'raw' AND trading_day = '{END}')",
    )
    args = ("run", "--var", VAR, "--days", str(DAYS), "--contracts", "2", "--end", END, "--skip-research")
    human = gt.human(*args, rc=1)
    _line(r"^Result: FAILED \(\d+ conditions?\)$", human)
    _line(r"^  FAILED audit_errors \[\w+\]: \d+ error findings of the \w+ check", human)
    payload = gt.json(*args, rc=1)
    names = {c["name"] for c in payload["failed_conditions"]}
    assert payload["ok"] is False and names == {"audit_errors"}  # and nothing else went wrong
    gt.assert_json_was_valid()
