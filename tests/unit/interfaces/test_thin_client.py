"""The CLI as a client stays thin: talking to a server never loads the server's stack."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "torch",
    "lightgbm",
    "xgboost",
    "numba",
    "pandas",
    "numpy",
    "onnxruntime",
    "psycopg",
    "dependency_injector",
    "pydantic",
    "pydantic_settings",
    "ghtrader.container",
    "ghtrader.settings",
    "ghtrader.application",
    "ghtrader.domain",
    "ghtrader.adapters",
    "ghtrader.interfaces.grpc",
)

PROBE = """
import json, sys
from ghtrader.main import main
code = main(sys.argv[1:])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY_ROOTS} or any(m == h or m.startswith(h + ".") for h in {HEAVY}))
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _probe(tmp_path: Path, *argv: str) -> dict[str, object]:
    roots = {h for h in HEAVY if "." not in h}
    dotted = [h for h in HEAVY if "." in h]
    script = PROBE.format(HEAVY_ROOTS=sorted(roots), HEAVY=dotted)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GHTRADER_")}
    done = subprocess.run(
        [sys.executable, "-c", script, *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_client_command_imports_no_server_stack(tmp_path: Path) -> None:
    result = _probe(tmp_path, "--port", str(_free_port()), "--timeout", "2", "status")
    assert result["code"] == 2  # no server there: the client answered, with nothing heavy loaded
    assert result["heavy"] == []


def test_help_imports_no_server_stack(tmp_path: Path) -> None:
    result = _probe(tmp_path, "--help")
    assert result["code"] == 0 and result["heavy"] == []
