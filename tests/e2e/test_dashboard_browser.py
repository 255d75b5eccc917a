"""The dashboard in a real browser: Playwright drives Debian's Chromium against
`ghtrader serve --dashboard` (a real server, synthetic data, free ports).

Skips with the reason when the Python package ``playwright`` or ``/usr/bin/chromium`` is missing
(``make test`` installs both where it can). Screenshots of every page go to runs/screenshots/.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_record_train_cli import GHTRADER, SEED, _free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "runs" / "screenshots"
PAGES = {
    "/": "Command center",
    "/data": "Data",
    "/models": "Models",
    "/trading": "Trading",
    "/ops": "Operations",
    "/jobs": "Jobs",
    "/explorer": "SQL explorer (read-only)",
    "/system": "System",
}
HISTORY = ("SHFE.cu2612", "2026-10-12", "2026-10-16")

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def _skip_reason() -> str:
    if sync_playwright is None:
        return "the Python package playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return (
            "Debian's chromium is not installed (apt-get install chromium chromium-driver; make test does it as root)"
        )
    return ""


if _skip_reason():
    pytest.skip(_skip_reason(), allow_module_level=True)


@dataclass
class Stack:
    env: dict[str, str]
    port: int
    dashboard: str  # base URL
    proc: subprocess.Popen[str]

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(GHTRADER), "--port", str(self.port), "--wait", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout:.0f}s")


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`ghtrader serve --dashboard` on free ports with the synthetic provider and embedded PostgreSQL."""
    tmp = tmp_path_factory.mktemp("dash")
    port, web = _free_port(), _free_port()
    # PYTEST_* too: NiceGUI switches to its own test mode when it sees it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHTRADER_", "TQ", "PYTEST_"))}
    env.update(
        GHTRADER_DATA_DIR=str(tmp / "data"),
        GHTRADER_RUNS_DIR=str(tmp / "runs"),
        GHTRADER_ARTIFACTS_DIR=str(tmp / "artifacts"),
        GHTRADER_STORE="postgres",
        GHTRADER_PROVIDER="synthetic",
        GHTRADER_SYNTHETIC_SEED=str(SEED),
        GHTRADER_GRPC_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    proc = subprocess.Popen(
        [str(GHTRADER), "serve", "--dashboard", "--dashboard-port", str(web)],
        env=env,
        cwd=tmp,  # NiceGUI keeps its storage (.nicegui/) in the working directory
        stdout=(tmp / "serve.log").open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    s = Stack(env, port, f"http://127.0.0.1:{web}", proc)
    try:
        deadline = time.monotonic() + 180
        while s.cli("--timeout", "5", "--json", "status", timeout=60).returncode not in (0, 1):
            assert proc.poll() is None, "server exited early"
            assert time.monotonic() < deadline, "server did not become ready in 180 s"
            time.sleep(0.5)
        try:
            _wait_http(s.dashboard + "/", 60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {(tmp / 'serve.log').read_text()[-3000:]}") from None
        yield s
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        try:
            yield b
        finally:
            b.close()


def _page(browser: Browser) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    return page, errors


def _jobs(stack: Stack) -> list[dict[str, Any]]:
    shown = stack.cli("--json", "jobs", "list")
    assert shown.returncode == 0, shown.stderr
    payload = json.loads(shown.stdout)
    return payload if isinstance(payload, list) else payload["jobs"]  # type: ignore[no-any-return]


def test_every_page_loads_without_console_errors(stack: Stack, browser: Browser) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, errors = _page(browser)
    for path, heading in PAGES.items():
        page.goto(stack.dashboard + path)
        page.get_by_text(heading, exact=True).first.wait_for(timeout=15_000)
        page.wait_for_load_state("networkidle")
        page.get_by_text("loading...").first.wait_for(state="detached", timeout=15_000)
        assert page.get_by_text("Traceback").count() == 0, path
        assert page.get_by_text("is not reachable").count() == 0, path
        assert page.get_by_text("error:").count() == 0, path
        page.screenshot(path=str(SCREENSHOTS / f"{path.strip('/') or 'home'}.png"), full_page=True)
    assert errors == [], errors
    # The real server's additions: pipeline readiness per variety on /ops, folder sizes on /system.
    page.goto(stack.dashboard + "/ops")
    page.locator("td", has_text="SHFE.ag").first.wait_for(timeout=15_000)
    page.get_by_role("button", name="main-schedule").first.wait_for(timeout=15_000)
    page.goto(stack.dashboard + "/system")
    page.get_by_text("sizes are re-measured when older than").wait_for(timeout=15_000)
    # the folder table (its "walk" column) appears once the background walk has ended; refreshed every 10 s
    page.locator("th", has_text="walk").first.wait_for(timeout=30_000)
    assert page.get_by_text("error:").count() == 0 and errors == [], errors


def test_build_form_creates_a_job_that_shows_in_jobs_and_finishes(stack: Stack, browser: Browser) -> None:
    symbol, start, end = HISTORY
    downloaded = stack.cli("download", symbol, "--start", start, "--end", end)
    assert downloaded.returncode == 0, downloaded.stderr[-2000:]
    page, errors = _page(browser)
    page.goto(stack.dashboard + "/ops")
    page.get_by_role("tab", name="Commands").click()
    build_card = page.locator(".q-card", has_text="build (factors + labels)")
    build_card.get_by_label("symbol").fill(symbol)
    build_card.get_by_label("start day").fill(start)
    build_card.get_by_label("end day").fill(end)
    build_card.get_by_role("button", name="Build").click()
    page.get_by_text(f"Start build {symbol}?").wait_for(timeout=10_000)
    page.get_by_role("button", name="Start").click()
    page.get_by_text("submitted; follow it on the Jobs page").first.wait_for(timeout=10_000)

    deadline = time.monotonic() + 300
    job: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        builds = [j for j in _jobs(stack) if j["command"] == "BuildDataset" and j["source"] == "dashboard"]
        if builds and builds[0]["state"] in ("succeeded", "failed", "cancelled"):
            job = builds[0]
            break
        time.sleep(1)
    assert job is not None, "the build job did not finish in 300 s"
    assert job["state"] == "succeeded", job

    page.goto(stack.dashboard + "/jobs")
    row = page.locator("tr", has_text="BuildDataset").first
    row.wait_for(timeout=15_000)
    assert "succeeded" in row.inner_text() and "dashboard" in row.inner_text()
    row.click()
    page.get_by_text(f"Job {job['id']}: BuildDataset (succeeded)").wait_for(timeout=15_000)

    # The downloaded days show on /data: the contract table and the heatmap from the day index.
    page.goto(stack.dashboard + "/data")
    page.locator(".q-card", has_text="0 Refresh").get_by_role("button", name="Run").click()  # drop the cached reads
    page.get_by_label("filter contracts").fill(symbol)
    try:
        page.locator("td", has_text=symbol).first.wait_for(timeout=30_000)
    finally:
        page.screenshot(path=str(SCREENSHOTS / "data-filtered.png"), full_page=True)
    page.get_by_role("tab", name="Heatmap").click()
    try:
        page.locator(".coverage-heatmap canvas").first.wait_for(timeout=30_000)
    finally:
        page.screenshot(path=str(SCREENSHOTS / "data-heatmap.png"), full_page=True)
    assert page.get_by_text("error:").count() == 0 and page.get_by_text("no indexed days yet").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "data-heatmap.png"), full_page=True)
    assert errors == [], errors


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("DROP TABLE ghtrader_ticks_raw_v2", "refused:"),
        ("SELECT 1; SELECT 2", "refused:"),
    ],
)
def test_explorer_refuses_writes_and_multiple_statements(stack: Stack, browser: Browser, sql: str, why: str) -> None:
    page, errors = _page(browser)
    page.goto(stack.dashboard + "/explorer")
    page.get_by_label("SQL").fill(sql)
    page.get_by_role("button", name="Run").click()
    refusal = page.get_by_text(why).first
    refusal.wait_for(timeout=15_000)
    assert len(refusal.inner_text()) > len(why) + 5  # the server's reason is shown
    assert errors == [], errors


def test_explorer_runs_a_select(stack: Stack, browser: Browser) -> None:
    page, errors = _page(browser)
    page.goto(stack.dashboard + "/explorer")
    page.get_by_label("SQL").fill("SELECT 41 + 1 AS answer")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("1 rows in").wait_for(timeout=15_000)
    assert page.locator("td", has_text="42").count() == 1
    assert errors == [], errors


def test_a_token_protected_dashboard_refuses_a_wrong_token(stack: Stack, browser: Browser, tmp_path: Path) -> None:
    web = _free_port()
    proc = subprocess.Popen(
        [str(GHTRADER), "--port", str(stack.port), "--token", "right-token", "dashboard", "--dashboard-port", str(web)],
        env=stack.env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{web}"
        _wait_http(base + "/", 60)
        page, errors = _page(browser)
        page.goto(base + "/jobs")
        page.get_by_label("Token").fill("wrong-token")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("wrong token").wait_for(timeout=10_000)
        assert page.get_by_text("Running jobs").count() == 0 and page.locator("tr").count() == 0
        page.get_by_label("Token").fill("right-token")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("tab", name="Locks").wait_for(timeout=15_000)
        assert errors == [], errors
    finally:
        _stop(proc)


def test_a_non_loopback_bind_without_a_token_is_refused(stack: Stack) -> None:
    r = stack.cli("dashboard", "--dashboard-host", "0.0.0.0", "--dashboard-port", str(_free_port()), timeout=60)
    assert r.returncode == 2 and "without a token" in r.stderr
