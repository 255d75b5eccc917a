"""CLI start-up benchmark: wall time and peak RSS of the ``ghtrader`` client, thin vs full import.

Run:  .venv/bin/python bench/cli_startup_bench.py --runs 7

Measures two commands, each as a fresh process, ``--runs`` times, and reports medians:

- ``ghtrader --help``;
- ``ghtrader status`` against a server the benchmark starts (``ghtrader serve`` on a free port,
  embedded PostgreSQL and every folder under a temporary directory, removed afterwards).

Each command runs in two variants, interleaved run by run so a busy machine hurts both alike:
``thin`` is the console script as shipped (the client imports only the settings and the gRPC
client); ``full`` is the old-style start-up, which imported the composition root (container,
adapters, numba, ML runtimes) and the gRPC server before parsing the command line. Peak RSS is
the process's own high-water mark (``wait4`` rusage). The bare interpreter (``python -c pass``)
is timed alongside as the floor no CLI can go below on the machine at that moment. Prints the
command and a markdown table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

GHTRADER = Path(sys.executable).with_name("ghtrader")
# What `ghtrader` imported before it became a thin client, then the same entry point.
FULL_IMPORT = (
    "import sys\n"
    "import ghtrader.container, ghtrader.interfaces.grpc.server\n"
    "from ghtrader.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _measure(cmd: Sequence[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one run of ``cmd``."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def _variants(args: Sequence[str]) -> dict[str, list[str]]:
    return {"thin": [str(GHTRADER), *args], "full": [sys.executable, "-c", FULL_IMPORT, *args]}


def _bench(
    label: str, args: Sequence[str], env: dict[str, str], runs: int, ok_codes: set[int]
) -> list[dict[str, object]]:
    samples: dict[str, list[tuple[float, float]]] = {"thin": [], "full": []}
    variants = _variants(args)
    for cmd in variants.values():  # warm the OS file cache once, not measured
        _measure(cmd, env)
    for _ in range(runs):
        for name, cmd in variants.items():
            wall, rss, code = _measure(cmd, env)
            if code not in ok_codes:
                raise SystemExit(f"{label} ({name}) exited {code}: {' '.join(cmd)}")
            samples[name].append((wall, rss))
    rows = []
    for name in ("full", "thin"):
        walls = [w for w, _ in samples[name]]
        rows.append(
            {
                "command": label,
                "variant": name,
                "wall_s": statistics.median(walls),
                "wall_min_s": min(walls),
                "wall_max_s": max(walls),
                "rss_mib": statistics.median(r for _, r in samples[name]),
            }
        )
    return rows


def _server_env(root: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHTRADER_")}
    env.update(
        GHTRADER_DATA_DIR=str(root / "data"),
        GHTRADER_RUNS_DIR=str(root / "runs"),
        GHTRADER_ARTIFACTS_DIR=str(root / "artifacts"),
        GHTRADER_GRPC_PORT=str(port),
        GHTRADER_STORE="postgres",
        GHTRADER_LOG_LEVEL="WARNING",
    )
    return env


def _wait_ready(env: dict[str, str], server: subprocess.Popen[bytes], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited early with {server.returncode}")
        if _measure([str(GHTRADER), "--timeout", "5", "status"], env)[2] in (0, 1):
            return
        time.sleep(0.5)
    raise SystemExit(f"the server was not ready within {timeout_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs per command and variant")
    parser.add_argument("--skip-server", action="store_true", help="only `ghtrader --help`")
    opts = parser.parse_args()
    print(
        f"command: {' '.join([Path(sys.executable).name, *sys.argv])}; cpus {os.cpu_count()}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    root = Path(tempfile.mkdtemp(prefix="ghtrader-cli-bench-"))
    try:
        env = _server_env(root, _free_port())
        rows = _bench("ghtrader --help", ["--help"], env, opts.runs, {0})
        if not opts.skip_server:
            server = subprocess.Popen(
                [str(GHTRADER), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                _wait_ready(env, server)
                rows += _bench("ghtrader status (server running)", ["status"], env, opts.runs, {0, 1})
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    server.kill()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    floor = [_measure([sys.executable, "-c", "pass"], env) for _ in range(opts.runs)]
    print(
        f"\nmedian of {opts.runs} runs per variant (fresh process each); bare interpreter floor "
        f"{statistics.median(w for w, _, _ in floor):.2f} s, {statistics.median(r for _, r, _ in floor):.0f} MiB\n"
    )
    print(
        "| command | variant | wall s (median) | wall s (min..max) | peak RSS MiB | full / thin wall | full / thin RSS |"
    )
    print("|---|---|---|---|---|---|---|")
    for full, thin in zip(rows[::2], rows[1::2], strict=True):
        for r in (full, thin):
            ratio = (
                (
                    f"{float(full['wall_s']) / float(thin['wall_s']):.1f}x",
                    f"{float(full['rss_mib']) / float(thin['rss_mib']):.1f}x",
                )
                if r is thin
                else ("", "")
            )
            print(
                f"| {r['command']} | {r['variant']} | {float(r['wall_s']):.2f} | {float(r['wall_min_s']):.2f}..{float(r['wall_max_s']):.2f} "
                f"| {float(r['rss_mib']):.0f} | {ratio[0]} | {ratio[1]} |"
            )


if __name__ == "__main__":
    main()
