"""CLI behaviour that needs no server: usage errors, unreachable server, exit codes."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from ghtrader.interfaces.cli import EXIT_CODES, CliHooks, ConnectionDefaults, run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _no_local() -> Iterator[str]:
    raise AssertionError("local server not expected")
    yield ""  # pragma: no cover


def _hooks(served: list[tuple[str, int]] | None = None) -> CliHooks:
    def serve(host: str, port: int) -> int:
        if served is not None:
            served.append((host, port))
        return 0

    return CliHooks(serve=serve, local_server=_no_local)


def _run(argv: list[str], hooks: CliHooks | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(argv, defaults=ConnectionDefaults(port=_free_port()), hooks=hooks or _hooks(), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_unreachable_server_says_how_to_start_one_and_exits_2() -> None:
    code, out, err = _run(["--timeout", "2", "status"])
    assert code == 2
    assert "ghtrader serve" in err and "--local" in err
    assert out == ""


def test_unknown_command_is_usage_error() -> None:
    code, _, _ = _run(["no-such-command"])
    assert code == 2


def test_serve_uses_the_hook_with_overrides() -> None:
    served: list[tuple[str, int]] = []
    code, _, _ = _run(["--host", "127.0.0.2", "--port", "6001", "serve"], _hooks(served))
    assert code == 0 and served == [("127.0.0.2", 6001)]


def test_exit_codes_are_documented_in_help(capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, _ = _run(["--help"])
    assert code == 0
    assert set(EXIT_CODES) == {0, 1, 2, 3, 130}
