"""FilesystemArtifactStore: staged versions published in one rename, never over an existing
one; atomic text files; digests; paths outside the root refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ghtrader.adapters.filesystem.artifacts import FilesystemArtifactStore
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound


def test_stage_write_publish_and_list(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path / "models")
    assert store.versions("lightgbm") == []
    staged = store.stage("lightgbm")
    assert staged.is_dir() and staged.parent == tmp_path / "models" / ".staging"
    store.write_text(staged, "a.json", '{"x": 1}')
    (staged / "weights").mkdir()
    (staged / "weights" / "w.bin").write_bytes(b"\x00\x01")
    target = store.publish(staged, "lightgbm", "2")
    assert target == store.version_dir("lightgbm", "2") == tmp_path / "models" / "lightgbm" / "2"
    assert not staged.exists() and store.read_text(target, "a.json") == '{"x": 1}'
    assert store.files(target) == ["a.json"]  # files only, no folders
    store.publish(store.stage("lightgbm"), "lightgbm", "10")
    store.publish(store.stage("lightgbm"), "lightgbm", "9")
    assert store.versions("lightgbm") == ["2", "9", "10"]
    assert store.digest(target / "weights" / "w.bin") == "sha256:" + hashlib.sha256(b"\x00\x01").hexdigest()


def test_publish_never_overwrites_a_version(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    first = store.stage("m")
    store.write_text(first, "f.txt", "first")
    store.publish(first, "m", "1")
    second = store.stage("m")
    store.write_text(second, "f.txt", "second")
    with pytest.raises(FailedPrecondition, match="already exists"):
        store.publish(second, "m", "1")
    assert store.read_text(store.version_dir("m", "1"), "f.txt") == "first"
    assert second.exists()  # left for the caller to discard
    store.discard(second)
    assert not second.exists()
    store.discard(second)  # already gone: fine


def test_names_and_paths_are_checked(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path / "root")
    for bad in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(InvalidArgument):
            store.version_dir("m", bad)
    with pytest.raises(InvalidArgument, match="not inside"):
        store.discard(tmp_path / "elsewhere")
    with pytest.raises(InvalidArgument, match="not inside"):
        store.discard(tmp_path / "root")
    with pytest.raises(NotFound):
        store.read_text(tmp_path / "root", "missing.json")
    with pytest.raises(NotFound):
        store.digest(tmp_path / "root" / "missing.bin")
    assert store.files(tmp_path / "nowhere") == []


def test_write_text_replaces_atomically(tmp_path: Path) -> None:
    store = FilesystemArtifactStore(tmp_path)
    d = store.stage("m")
    store.write_text(d, "meta.json", "one")
    store.write_text(d, "meta.json", "two")
    assert store.read_text(d, "meta.json") == "two"
    assert sorted(p.name for p in d.iterdir()) == ["meta.json"]  # no temp files left
