"""Argument parsing, connection handling and exit codes of the ``ghtrader`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TextIO

from ghtrader.interfaces.cli.commands import data as data_commands
from ghtrader.interfaces.cli.commands import datasets as dataset_commands
from ghtrader.interfaces.cli.commands import pipeline as pipeline_commands
from ghtrader.interfaces.cli.commands import research as research_commands
from ghtrader.interfaces.cli.commands import system as system_commands
from ghtrader.interfaces.cli.output import Output
from ghtrader.interfaces.client import ApiError, GhTraderClient, ServerUnavailableError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_API_ERROR = 3
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILED: "the command ran and reports a failure (e.g. audit found errors, store unreachable)",
    EXIT_USAGE: "bad usage, bad configuration, or no server reachable",
    EXIT_API_ERROR: "the server refused the request (invalid argument, not found, unauthenticated...)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

COMMAND_MODULES = (system_commands, data_commands, dataset_commands, research_commands, pipeline_commands)


@dataclass(frozen=True)
class ConnectionDefaults:
    """Where the server is by default (from settings, passed in by the entry point)."""

    host: str = "127.0.0.1"
    port: int = 50051
    token: str | None = None


@dataclass(frozen=True)
class CliHooks:
    """What the CLI cannot do by itself, provided by the composition root.

    ``serve(host, port)`` runs the server in the foreground and returns an exit code;
    ``local_server()`` starts an in-process server on a free loopback port and yields its target.
    """

    serve: Callable[[str, int], int]
    local_server: Callable[[], AbstractContextManager[str]]


def build_parser(defaults: ConnectionDefaults) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghtrader",
        description="ghTrader: research-only tick system for SHFE CU/AU/AG (gRPC client).",
        epilog="exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()),
    )
    parser.add_argument("--host", default=defaults.host, help="server host (default %(default)s)")
    parser.add_argument("--port", type=int, default=defaults.port, help="server port (default %(default)s)")
    parser.add_argument("--token", default=defaults.token, help="API token (default: GHTRADER_API_TOKEN)")
    parser.add_argument("--timeout", type=float, default=600.0, help="per-call timeout in seconds")
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    parser.add_argument(
        "--local", action="store_true", help="run against an in-process server on a free port"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    serve = sub.add_parser("serve", help="run the gRPC server in the foreground (SIGTERM/Ctrl-C stops it)")
    serve.set_defaults(handler=None)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def run(
    argv: Sequence[str] | None,
    *,
    defaults: ConnectionDefaults,
    hooks: CliHooks,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Parse ``argv``, run the command, return the exit code (see EXIT_CODES)."""
    out = Output(stdout=stdout or sys.stdout, stderr=stderr or sys.stderr)
    parser = build_parser(defaults)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    out.json_mode = args.json
    if args.command == "serve":
        return hooks.serve(args.host, args.port)
    try:
        if args.local:
            with hooks.local_server() as target:
                return _dispatch(target, None, args, out)
        return _dispatch(f"{args.host}:{args.port}", args.token, args, out)
    except ServerUnavailableError as exc:
        out.error(str(exc))
        return EXIT_USAGE
    except ApiError as exc:
        out.error(str(exc))
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        out.error("interrupted")
        return EXIT_INTERRUPTED


def _dispatch(target: str, token: str | None, args: argparse.Namespace, out: Output) -> int:
    with GhTraderClient(target, token=token, timeout_s=args.timeout) as client:
        return int(args.handler(client, args, out))
