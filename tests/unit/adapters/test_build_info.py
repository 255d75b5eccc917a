"""The code version: commit and dirty flag of a checkout (tracked files only), unknown outside one."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ghtrader.adapters.host.build_info import code_version, git_commit
from ghtrader.application.run_manifest import CodeVersion


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def test_clean_dirty_and_untracked(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.txt").write_text("one\n")
    _git(repo, "add", "a.txt")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    sha = _git(repo, "rev-parse", "--short=12", "HEAD")
    (repo / "untracked.txt").write_text("not part of the code\n")
    code_version.cache_clear()
    assert code_version(repo) == CodeVersion(sha, False)  # untracked files do not make it dirty
    (repo / "a.txt").write_text("two\n")
    assert code_version(repo) == CodeVersion(sha, False)  # cached per process
    code_version.cache_clear()
    assert code_version(repo) == CodeVersion(sha, True)
    assert git_commit(repo) == f"{sha}-dirty"
    code_version.cache_clear()


def test_outside_a_checkout_the_version_is_unknown(tmp_path: Path) -> None:
    code_version.cache_clear()
    assert code_version(tmp_path) == CodeVersion("unknown", None)
    assert git_commit(tmp_path) == "unknown"
    code_version.cache_clear()
