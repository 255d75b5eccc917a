"""Suite-wide settings and the session's PostgreSQL server (contract and integration tests)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
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


# A throwaway test server needs no durability: these settings make DDL and writes cheaper.
_TEST_PG_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "64MB"}


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the session's PostgreSQL server (embedded unless GHTRADER_TEST_POSTGRES_URL).

    pgserver is a dependency: a missing or broken embedded server fails these tests, never skips.
    """
    external = os.environ.get("GHTRADER_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    from ghtrader.adapters.postgres import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", settings=_TEST_PG_SETTINGS)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
