"""`ghtrader dashboard`: its flags, the server it talks to, and the bind rule, without starting it."""

from __future__ import annotations

import io
from contextlib import AbstractContextManager

import pytest

from ghtrader.interfaces.cli import CliHooks, ConnectionDefaults, run
from ghtrader.interfaces.dashboard import DashboardConfig
from ghtrader.interfaces.dashboard import app as dashboard_app


def _no_local() -> AbstractContextManager[str]:
    raise AssertionError("no in-process server expected")


def _run(argv: list[str], served: list[tuple[str, int]] | None = None) -> tuple[int, str]:
    err = io.StringIO()

    def serve(host: str, port: int) -> int:
        if served is not None:
            served.append((host, port))
        return 0

    hooks = CliHooks(serve=serve, local_server=_no_local)
    code = run(argv, defaults=ConnectionDefaults(port=50099), hooks=hooks, stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[DashboardConfig]:
    configs: list[DashboardConfig] = []
    monkeypatch.setattr(dashboard_app, "run_dashboard", configs.append)
    return configs


def test_dashboard_talks_to_the_cli_target_and_listens_on_its_own_flags(started: list[DashboardConfig]) -> None:
    code, err = _run(["--port", "50123", "--token", "t", "dashboard", "--dashboard-port", "8123"])
    assert code == 0, err
    (config,) = started
    assert (config.target, config.host, config.port, config.token) == ("127.0.0.1:50123", "127.0.0.1", 8123, "t")


def test_defaults_are_loopback_port_8000_and_no_token(started: list[DashboardConfig]) -> None:
    assert _run(["dashboard"])[0] == 0
    (config,) = started
    assert (config.host, config.port, config.token) == ("127.0.0.1", 8000, None)


def test_a_non_loopback_bind_without_a_token_exits_2_and_starts_nothing(started: list[DashboardConfig]) -> None:
    code, err = _run(["dashboard", "--dashboard-host", "0.0.0.0"])
    assert code == 2 and "without a token" in err
    assert started == []


def test_serve_without_dashboard_only_serves(started: list[DashboardConfig]) -> None:
    served: list[tuple[str, int]] = []
    assert _run(["serve", "--port", "50124"], served)[0] == 0
    assert served == [("127.0.0.1", 50124)] and started == []
