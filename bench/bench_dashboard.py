"""Dashboard page-load latency with 1,000 jobs and 200 contracts.

Runs the real dashboard (NiceGUI, this repository's pages) in a child process over an in-memory
client (the page tests' fake) that holds 1,000 jobs and 200 contracts per variety and answers
each call after ``--rpc-ms`` (a simulated gRPC round trip), then loads every page in Debian's
Chromium (Playwright) ``--loads`` times and reports p50 / p95 per page: from navigation start
until the page's data is on screen (heading shown and no "loading..." left).

    PYTHONPATH=src:. .venv/bin/python bench/bench_dashboard.py [--loads 20] [--rpc-ms 20]

With ``--baseline-tree DIR`` (a checkout of another commit, e.g. ``git worktree add /tmp/old
<commit>`` with its generated ``src/ghtrader/v1``), a second dashboard runs from that tree and
every load alternates between the two, so both are measured under the same machine load.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

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
N_JOBS = 1000
N_CONTRACTS = 200


def serve(port: int, rpc_ms: float) -> None:
    """Child process: the dashboard over a slow, full fake client."""
    from nicegui import ui

    from ghtrader.interfaces.dashboard import DashboardConfig
    from ghtrader.interfaces.dashboard.app import Dashboard
    from tests.unit.interfaces.dashboard.fake_client import FakeClient, job

    states = ("succeeded", "failed", "running", "queued", "cancelled")
    commands = ("Download", "Verify", "BuildMainL5", "BuildDataset", "Train", "Backtest")
    jobs = [
        job(i, commands[i % len(commands)], states[i % 17 % len(states)], summary=f"job {i}")
        for i in range(1, N_JOBS + 1)
    ]

    class Slow(FakeClient):
        def __getattribute__(self, name: str) -> Any:
            value = object.__getattribute__(self, name)
            if callable(value) and not name.startswith("_"):

                def slow(*args: Any, **kwargs: Any) -> Any:
                    time.sleep(rpc_ms / 1000)
                    return value(*args, **kwargs)

                return slow
            return value

    client = Slow(jobs=jobs, contracts=N_CONTRACTS)
    dash = Dashboard(DashboardConfig(port=port), client_factory=lambda: client)
    ui.run(
        dash.root,
        host="127.0.0.1",
        port=port,
        reload=False,
        show=False,
        show_welcome_message=False,
        storage_secret="bench",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def _start(tree: Path, port: int, rpc_ms: float) -> subprocess.Popen[bytes]:
    """A dashboard child process running ``tree``'s pages and fake client."""
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}"}
    script = tree / "bench" / "bench_dashboard.py"
    return subprocess.Popen(
        [sys.executable, str(script), "--serve", str(port), "--rpc-ms", str(rpc_ms)], cwd=tree, env=env
    )


def _cpu_s(server: subprocess.Popen[bytes], dashboards: list[int]) -> float:
    """CPU seconds used so far by ``server`` and by every other descendant of this process that
    is not a dashboard (the browser's processes)."""
    import psutil

    total = 0.0
    for proc in [psutil.Process(server.pid), *psutil.Process().children(recursive=True)]:
        if proc.pid in dashboards and proc.pid != server.pid:
            continue
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue  # ended meanwhile
        total += times.user + times.system
    return total


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20, help="loads per page (default 20)")
    parser.add_argument("--rpc-ms", type=float, default=20.0, help="simulated latency of each call (default 20 ms)")
    parser.add_argument("--baseline-tree", type=Path, help="also measure this source tree, loads alternating")
    parser.add_argument(
        "--navigate",
        action="store_true",
        help="open each page with a click on the navigation drawer (in-app routing) instead of loading its URL",
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.rpc_ms)
        return
    from playwright.sync_api import sync_playwright

    trees = {"new": Path(__file__).resolve().parent.parent}
    if args.baseline_tree:
        trees = {"old": args.baseline_tree.resolve(), **trees}
    ports = {name: _free_port() for name in trees}
    children = [_start(tree, ports[name], args.rpc_ms) for name, tree in trees.items()]
    results: dict[str, dict[str, list[float]]] = {name: {p: [] for p in PAGES} for name in trees}
    # CPU time a load costs (the browser's processes plus the dashboard that served it): unlike
    # wall time it hardly moves with the load other work puts on the machine.
    cpu: dict[str, dict[str, list[float]]] = {name: {p: [] for p in PAGES} for name in trees}
    servers = dict(zip(trees, children, strict=True))
    try:
        for port in ports.values():
            _wait(f"http://127.0.0.1:{port}/")
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                headless=True,
                args=["--no-sandbox", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for round_ in range(args.loads + 1):
                for path, heading in PAGES.items():
                    for name, port in ports.items():
                        if args.navigate:  # start from another page of this dashboard (not timed)
                            start = "/system" if path != "/system" else "/explorer"
                            page.goto(f"http://127.0.0.1:{port}{start}", wait_until="domcontentloaded")
                            page.locator(".text-h5", has_text=PAGES[start]).wait_for(timeout=30_000)
                            page.get_by_text("loading...").first.wait_for(state="detached", timeout=30_000)
                        c0 = _cpu_s(servers[name], [c.pid for c in children])
                        t0 = time.perf_counter()
                        if args.navigate:  # a click on the navigation drawer: the app routes in place
                            page.locator(f'.q-drawer a[href="{path}"]').click()
                        else:
                            page.goto(f"http://127.0.0.1:{port}{path}", wait_until="domcontentloaded")
                        # the page's own heading (the drawer's labels have other classes)
                        page.locator(".text-h5", has_text=heading).first.wait_for(timeout=30_000)
                        page.get_by_text("loading...").first.wait_for(state="detached", timeout=30_000)
                        if round_:  # the first round warms the browser cache and the server's reads
                            results[name][path].append((time.perf_counter() - t0) * 1000)
                            cpu[name][path].append((_cpu_s(servers[name], [c.pid for c in children]) - c0) * 1000)
            browser.close()
    finally:
        for child in children:
            child.terminate()
            child.wait(timeout=20)
    print(
        f"dashboard page load, {N_JOBS} jobs, {N_CONTRACTS} contracts/variety, {args.rpc_ms:.0f} ms per call, "
        f"{args.loads} loads/page, {'drawer clicks' if args.navigate else 'URL loads'}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    header = "".join(f" {name + ' p50':>9} {name + ' p95':>9} {name + ' cpu':>9}" for name in trees)
    print(f"{'page':<10}{header}   (ms; cpu: median CPU ms of browser + dashboard per load)")
    for path in [*PAGES, "all"]:
        cells = ""
        for name in trees:
            times = results[name][path] if path != "all" else [t for ts in results[name].values() for t in ts]
            used = cpu[name][path] if path != "all" else [t for ts in cpu[name].values() for t in ts]
            cells += f" {statistics.median(times):9.0f} {_p95(times):9.0f} {statistics.median(used):9.0f}"
        print(f"{path:<10}{cells}")


if __name__ == "__main__":
    main()
