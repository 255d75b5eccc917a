"""``FilesystemArtifactStore``: model artifacts under ``<root>/<model_type>/<version>/``
(``root`` is usually ``artifacts/models``).

Versions are staged in ``<root>/.staging/`` (same file system) and published with one
``rename``, so a reader never sees a half-written version; text files are written to a
temporary file, flushed and renamed over the target.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound

__all__ = ["FilesystemArtifactStore"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
_STAGING = ".staging"


def _check_name(label: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value) or ".." in value:
        raise InvalidArgument(
            f"invalid artifact {label} {value!r}: letters, digits, '.', '_', '-', '@' (no path separators)"
        )
    return value


def _version_key(name: str) -> tuple[int, int, str]:
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


class FilesystemArtifactStore:
    """ArtifactStore on a local (or mounted) directory tree."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def version_dir(self, model_type: str, version: str) -> Path:
        return self.root / _check_name("model type", model_type) / _check_name("version", version)

    def versions(self, model_type: str) -> list[str]:
        folder = self.root / _check_name("model type", model_type)
        if not folder.is_dir():
            return []
        names = [p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
        return sorted(names, key=_version_key)

    def stage(self, model_type: str) -> Path:
        staging = self.root / _STAGING
        staging.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{_check_name('model type', model_type)}-", dir=staging))

    def publish(self, staged: Path, model_type: str, version: str) -> Path:
        staged = Path(staged)
        self._inside(staged)
        if not staged.is_dir():
            raise NotFound(f"staged artifact directory {staged} does not exist")
        target = self.version_dir(model_type, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise FailedPrecondition(f"artifact version {target} already exists")
        try:
            os.rename(staged, target)  # a concurrent publisher of the same version fails here (non-empty)
        except OSError as exc:
            raise FailedPrecondition(f"cannot publish {staged} as {target}: {exc}") from exc
        return target

    def discard(self, directory: Path) -> None:
        directory = Path(directory)
        self._inside(directory)
        shutil.rmtree(directory, ignore_errors=True)

    def write_text(self, directory: Path, name: str, text: str) -> Path:
        directory = Path(directory)
        target = directory / _check_name("file name", name)
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def read_text(self, directory: Path, name: str) -> str:
        path = Path(directory) / _check_name("file name", name)
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotFound(f"artifact file {path} does not exist") from None

    def files(self, directory: Path) -> list[str]:
        directory = Path(directory)
        if not directory.is_dir():
            return []
        return sorted(p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))

    def digest(self, path: Path) -> str:
        h = hashlib.sha256()
        try:
            with Path(path).open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except FileNotFoundError:
            raise NotFound(f"artifact file {path} does not exist") from None
        return f"sha256:{h.hexdigest()}"

    def _inside(self, path: Path) -> None:
        root = self.root.resolve()
        resolved = Path(path).resolve()
        if resolved == root or root not in resolved.parents:
            raise InvalidArgument(f"{path} is not inside the artifact root {self.root}")
