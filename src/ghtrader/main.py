"""Entry point of the ``ghtrader`` console script: settings -> container -> CLI or server.

A command sent to a running server needs only the connection settings and the gRPC client, so
it reads those without pydantic (``client_settings``) and imports nothing of the server's
stack. ``serve`` and ``--local`` load and validate the full settings, then the container (its
adapters, numba, the ML runtimes), lazily, when they run. That keeps ``ghtrader --help`` and
``ghtrader status`` fast.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ghtrader.client_settings import (
    DEFAULT_ENV_FILE,
    ClientSettingsError,
    load_client_settings,
    misspelled_settings,
)
from ghtrader.interfaces.cli import CliHooks, ConnectionDefaults, run

if TYPE_CHECKING:
    from ghtrader.container import Container
    from ghtrader.settings import Settings

log = logging.getLogger("ghtrader")
EXIT_BAD_SETTINGS = 2


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _full_settings() -> Settings:
    """Every setting, validated; exits 2 with the reasons when one is invalid."""
    from pydantic import ValidationError

    from ghtrader.settings import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        sys.stderr.write(f"ghtrader: error: invalid settings (see env.example):\n{exc}\n")
        raise SystemExit(EXIT_BAD_SETTINGS) from None


def build_container(settings: Settings) -> Container:
    from ghtrader.container import (
        Container,  # the whole server stack: only when it is needed
    )

    container = Container()
    container.settings.override(settings)
    return container


def _serve(host: str, port: int) -> int:
    from ghtrader.application.errors import InvalidArgument
    from ghtrader.interfaces.grpc.server import InsecureBindError, serve_until_signal

    container = build_container(_full_settings())
    try:
        container.server_scheduler()  # APScheduler runs in the server process only
    except (InvalidArgument, ValueError) as exc:  # a bad GHTRADER_DAILY_UPDATE_* setting
        log.error("scheduler: %s", exc)
        container.shutdown_resources()
        return 2
    try:
        server = container.grpc_server(host=host, port=port)
    except InsecureBindError as exc:
        log.error("%s", exc)
        container.shutdown_resources()
        return 2
    container.job_control().reconcile()  # jobs whose process died while no server watched
    try:
        serve_until_signal(server, on_stop=lambda: _stop_resources(container))
    except OSError as exc:
        log.error("%s", exc)
        return 2
    return 0


def _stop_resources(container: Container) -> None:
    """Shut the container down, but leave the tick store up while jobs still use it.

    Jobs outlive the server; stopping an embedded database it started would fail them.
    """
    container.server_scheduler.shutdown()  # no firing once the server is going
    active = container.job_store().list_jobs(states=("queued", "running"))
    if not active:
        container.shutdown_resources()
        return
    log.warning(
        "%d job(s) still active (%s): they finish on their own; the tick store stays up for them",
        len(active),
        ", ".join(str(j.id) for j in active),
    )
    container.trading_runs.shutdown()


@contextmanager
def _local_server() -> Iterator[str]:
    container = build_container(_full_settings())
    server = container.grpc_server(host="127.0.0.1", port=0)
    container.job_control().reconcile()
    server.start()
    try:
        yield server.target
    finally:
        # --local jobs live and die with the command (Ctrl-C); the embedded store stops with it too.
        container.job_control().cancel_submitted("the --local command that started it ended")
        server.stop(grace_s=1.0)
        container.shutdown_resources()


def main(argv: Sequence[str] | None = None) -> int:
    typos = misspelled_settings(DEFAULT_ENV_FILE)
    try:
        settings = load_client_settings(DEFAULT_ENV_FILE)
    except ClientSettingsError as exc:
        sys.stderr.writelines(f"ghtrader: warning: {typo}\n" for typo in typos)
        sys.stderr.write(f"ghtrader: error: invalid settings (see env.example): {exc}\n")
        return EXIT_BAD_SETTINGS
    _configure_logging(settings.log_level)
    for typo in typos:
        log.warning("%s", typo)
    defaults = ConnectionDefaults(host=settings.grpc_host, port=settings.grpc_port, token=settings.api_token)
    try:
        return run(argv, defaults=defaults, hooks=CliHooks(serve=_serve, local_server=_local_server))
    except SystemExit as exc:  # the full settings were invalid (serve, --local)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_BAD_SETTINGS


if __name__ == "__main__":
    raise SystemExit(main())
