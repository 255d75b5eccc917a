"""Entry point of the ``ghtrader`` console script: settings -> container -> CLI or server.

A command sent to a running server needs only the settings and the gRPC client, so the
server's stack (the container, its adapters, numba, the ML runtimes) is imported lazily: by
``serve`` and ``--local`` alone. That keeps ``ghtrader --help`` and ``ghtrader status`` fast.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pydantic import ValidationError

from ghtrader.interfaces.cli import CliHooks, ConnectionDefaults, run
from ghtrader.settings import (
    DEFAULT_ENV_FILE,
    Settings,
    load_settings,
    misspelled_settings,
)

if TYPE_CHECKING:
    from ghtrader.container import Container

log = logging.getLogger("ghtrader")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def build_container(settings: Settings) -> Container:
    from ghtrader.container import (
        Container,  # the whole server stack: only when it is needed
    )

    container = Container()
    container.settings.override(settings)
    return container


def _serve(settings: Settings, host: str, port: int) -> int:
    from ghtrader.interfaces.grpc.server import InsecureBindError, serve_until_signal

    container = build_container(settings)
    try:
        server = container.grpc_server(host=host, port=port)
    except InsecureBindError as exc:
        log.error("%s", exc)
        return 2
    try:
        serve_until_signal(server, on_stop=container.shutdown_resources)
    except OSError as exc:
        log.error("%s", exc)
        return 2
    return 0


@contextmanager
def _local_server(settings: Settings) -> Iterator[str]:
    container = build_container(settings)
    server = container.grpc_server(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server.target
    finally:
        server.stop(grace_s=1.0)
        container.shutdown_resources()


def main(argv: Sequence[str] | None = None) -> int:
    typos = misspelled_settings(DEFAULT_ENV_FILE)
    try:
        settings = load_settings()
    except ValidationError as exc:
        sys.stderr.writelines(f"ghtrader: warning: {typo}\n" for typo in typos)
        sys.stderr.write(f"ghtrader: error: invalid settings (see env.example):\n{exc}\n")
        return 2
    _configure_logging(settings.log_level)
    for typo in typos:
        log.warning("%s", typo)
    defaults = ConnectionDefaults(
        host=settings.grpc_host,
        port=settings.grpc_port,
        token=settings.api_token.get_secret_value() if settings.api_token else None,
    )
    hooks = CliHooks(
        serve=lambda host, port: _serve(settings, host, port),
        local_server=lambda: _local_server(settings),
    )
    return run(argv, defaults=defaults, hooks=hooks)


if __name__ == "__main__":
    raise SystemExit(main())
