"""Which code is running: the git commit of the checkout, when there is one."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_commit(repo_dir: Path | None = None) -> str:
    """Short commit hash (with ``-dirty`` when the tree has changes), or ``unknown``."""
    cwd = repo_dir or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha
