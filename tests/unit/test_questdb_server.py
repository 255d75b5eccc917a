"""The QuestDB test gate: unconfigured skips saying what to set; configured but down fails."""

from __future__ import annotations

import socket

import pytest

from tests.questdb_server import HOST_VARIABLE, questdb_params


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


def test_unconfigured_questdb_skips_and_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOST_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception, match=HOST_VARIABLE):
        questdb_params()


def test_configured_but_unreachable_questdb_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv(HOST_VARIABLE, "127.0.0.1")
    monkeypatch.setenv("GHTRADER_QUESTDB_PG_PORT", str(port))
    monkeypatch.setenv("GHTRADER_QUESTDB_HTTP_PORT", str(port))
    with pytest.raises(pytest.fail.Exception, match=f"not reachable at 127.0.0.1:{port}"):
        questdb_params()
