"""The layer contracts are live: a forbidden import in a copy of the source breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")  # import-linter is a dev dependency: no skip


def _lint(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT), "--config", str(ROOT / "importlinter.ini"), "--no-cache"],
        cwd=src.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("application/system.py", "import grpc", "Application imports no framework"),
        ("domain/errors.py", "import pandas", "Domain imports only stdlib"),
        ("interfaces/cli/output.py", "import ghtrader.application.errors", "CLI and dashboard"),
        ("interfaces/dashboard/widgets.py", "import ghtrader.v1.jobs_pb2", "CLI and dashboard"),
        ("domain/errors.py", "import ghtrader.application.errors", "Layers"),
    ],
)
def test_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, line: str, contract: str) -> None:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
    target = src / "ghtrader" / module
    target.write_text(target.read_text() + f"\n{line}  # injected by test\n")
    result = _lint(src)
    assert result.returncode != 0, result.stdout
    assert contract in result.stdout and "BROKEN" in result.stdout
