"""Entry point of the ``ghtrader`` console script: settings -> container -> CLI or server."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pydantic import ValidationError

from ghtrader.container import Container
from ghtrader.interfaces.cli import CliHooks, ConnectionDefaults, run
from ghtrader.interfaces.grpc.server import InsecureBindError, serve_until_signal
from ghtrader.settings import Settings, load_settings

log = logging.getLogger("ghtrader")


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def build_container(settings: Settings) -> Container:
    container = Container()
    container.settings.override(settings)
    return container


def _serve(settings: Settings, host: str, port: int) -> int:
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
    try:
        settings = load_settings()
    except ValidationError as exc:
        sys.stderr.write(f"ghtrader: error: invalid settings (see env.example):\n{exc}\n")
        return 2
    _configure_logging(settings.log_level)
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
