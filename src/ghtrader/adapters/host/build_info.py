"""Which code is running: the git commit of the checkout and whether its tracked files changed."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from ghtrader.application.run_manifest import CodeVersion


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True).stdout.strip()


@functools.lru_cache(maxsize=8)
def code_version(repo_dir: Path | None = None) -> CodeVersion:
    """Commit (12 hex digits) and dirty flag (tracked files changed), cached per process.

    Outside a checkout (or without git): commit ``unknown``, dirty unknown (None).
    """
    cwd = repo_dir or Path(__file__).resolve().parent
    try:
        sha = _git(cwd, "rev-parse", "--short=12", "HEAD")
        dirty = bool(_git(cwd, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return CodeVersion()
    return CodeVersion(commit=sha, dirty=dirty)


def git_commit(repo_dir: Path | None = None) -> str:
    """Short commit hash (with ``-dirty`` when tracked files changed), or ``unknown``."""
    v = code_version(repo_dir)
    return f"{v.commit}-dirty" if v.dirty else v.commit
