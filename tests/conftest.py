"""Suite-wide settings."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_OWN_BASETEMP = "_ghtrader_own_basetemp"


def pytest_configure(config: pytest.Config) -> None:
    # The embedded PostgreSQL runs as an unprivileged user that must traverse the test's temp
    # folders. pytest resets /tmp/pytest-of-<user> to mode 0700 whenever ANY pytest session
    # starts, which would cut a running server off; a per-run base folder outside it is
    # never touched by other sessions.
    if config.option.basetemp is None:
        config.option.basetemp = str(Path(tempfile.gettempdir()) / f"ghtrader-pytest-{os.getpid()}")
        setattr(config, _OWN_BASETEMP, True)


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, _OWN_BASETEMP, False):
        shutil.rmtree(config.option.basetemp, ignore_errors=True)
