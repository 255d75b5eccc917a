"""Argument parsing, connection handling and exit codes of the ``ghtrader`` command."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import TextIO

from ghtrader.interfaces.cli.arguments import (
    UsageError,
    check_day_range,
    port,
    positive_float,
)
from ghtrader.interfaces.cli.commands import accounts as account_commands
from ghtrader.interfaces.cli.commands import alerts as alert_commands
from ghtrader.interfaces.cli.commands import data as data_commands
from ghtrader.interfaces.cli.commands import datasets as dataset_commands
from ghtrader.interfaces.cli.commands import ensembles as ensemble_commands
from ghtrader.interfaces.cli.commands import experiments as experiment_commands
from ghtrader.interfaces.cli.commands import explain as explain_commands
from ghtrader.interfaces.cli.commands import features as feature_commands
from ghtrader.interfaces.cli.commands import hpo as hpo_commands
from ghtrader.interfaces.cli.commands import jobs as job_commands
from ghtrader.interfaces.cli.commands import pipeline as pipeline_commands
from ghtrader.interfaces.cli.commands import promotion as promotion_commands
from ghtrader.interfaces.cli.commands import query as query_commands
from ghtrader.interfaces.cli.commands import regimes as regime_commands
from ghtrader.interfaces.cli.commands import research as research_commands
from ghtrader.interfaces.cli.commands import schedules as schedule_commands
from ghtrader.interfaces.cli.commands import system as system_commands
from ghtrader.interfaces.cli.commands import tca as tca_commands
from ghtrader.interfaces.cli.commands import trading as trading_commands
from ghtrader.interfaces.cli.output import Output
from ghtrader.interfaces.client import ApiError, GhTraderClient, JobSubmitted, ServerUnavailableError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_API_ERROR = 3
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILED: "the command ran and reports a failure (e.g. audit found errors, store unreachable)",
    EXIT_USAGE: "bad usage or an argument the server rejects as invalid, bad configuration, or no server reachable",
    EXIT_API_ERROR: "the server refused the request for another reason (not found, failed precondition, unauthenticated...)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

COMMAND_MODULES = (
    system_commands,
    data_commands,
    dataset_commands,
    research_commands,
    ensemble_commands,
    explain_commands,
    feature_commands,
    promotion_commands,
    hpo_commands,
    pipeline_commands,
    trading_commands,
    account_commands,
    schedule_commands,
    query_commands,
    job_commands,
    experiment_commands,
    alert_commands,
    regime_commands,
    tca_commands,
)


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


def _add_global_flags(parser: argparse.ArgumentParser, defaults: ConnectionDefaults | None) -> None:
    """The flags every command takes. With ``defaults`` (the top-level parser) they get their
    defaults; without (each subcommand) they default to "not given", so a flag given after the
    command overrides the top-level value and one left out does not reset it."""
    given = defaults is not None
    host, port_, token = (defaults.host, defaults.port, defaults.token) if defaults else (None, None, None)

    def default(value: object) -> object:
        return value if given else argparse.SUPPRESS

    def shown(value: object) -> str:
        return f" (default {value})" if given else ""

    group = parser.add_argument_group("global options (before or after the command)")
    group.add_argument("--host", default=default(host), help="server host" + shown(host))
    group.add_argument("--port", type=port, default=default(port_), help="server port" + shown(port_))
    group.add_argument("--token", default=default(token), help="API token (default: GHTRADER_API_TOKEN)")
    group.add_argument(
        "--timeout", type=positive_float, default=default(600.0), help="per-call timeout in seconds" + shown(600)
    )
    group.add_argument("--json", action="store_true", default=default(False), help="machine-readable JSON on stdout")
    group.add_argument(
        "--local", action="store_true", default=default(False), help="run against an in-process server on a free port"
    )
    group.add_argument(
        "--wait",
        action="store_true",
        default=default(False),
        help="follow a long-running command's job (progress, result, its exit code); without it the command "
        "prints the job id and returns (--local and record without --duration always follow)",
    )
    group.add_argument(
        "--no-wait",
        action="store_true",
        default=default(False),
        help="a job whose locks are taken fails at once, naming the holder (default: it waits queued)",
    )


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every subcommand parser below ``parser``, nested groups (``data verify``) included."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:  # argparse offers no public walk over subcommands
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += [child, *_subparsers(child)]
    return found


def build_parser(defaults: ConnectionDefaults) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ghtrader",
        description="ghTrader: research-only tick system for SHFE CU/AU/AG (gRPC client).",
        epilog="exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()),
    )
    _add_global_flags(parser, defaults)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    serve = sub.add_parser("serve", help="run the gRPC server in the foreground (SIGTERM/Ctrl-C stops it)")
    serve.set_defaults(handler=None)
    serve.add_argument("--dashboard", action="store_true", help="also start the dashboard (a child process)")
    _add_dashboard_flags(serve)
    dash = sub.add_parser("dashboard", help="run the web dashboard (NiceGUI) against the server at --host/--port")
    dash.set_defaults(handler=None)
    _add_dashboard_flags(dash)
    for module in COMMAND_MODULES:
        module.register(sub)
    for child in _subparsers(parser):
        _add_global_flags(child, None)
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
        # argparse prints usage errors and --help itself: send them where this run writes.
        with redirect_stdout(out.stdout), redirect_stderr(out.stderr):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    out.json_mode = args.json
    try:
        check_day_range(args)
    except UsageError as exc:
        out.error(str(exc))
        return EXIT_USAGE
    if args.command == "dashboard":
        return _run_dashboard(args, out)
    if args.command == "serve":
        if args.dashboard:
            with _dashboard_child(args):
                return hooks.serve(args.host, args.port)
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
        if exc.code == "INVALID_ARGUMENT":
            out.error(f"invalid argument: {exc.message}{_flag_hint(exc.message)}")
            return EXIT_USAGE
        out.error(str(exc))
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        out.error("interrupted")
        return EXIT_INTERRUPTED


# API field names as the server's messages spell them -> the CLI flag that sets them.
_FLAG_OF_FIELD = {
    "start_day": "--start",
    "end_day": "--end",
    "chunk_days": "--chunk-days",
    "switch_ratio": "--switch-ratio",
    "threshold_ticks": "--k",
    "horizon": "--horizon",
    "direction_horizons": "--horizons",
    "n_splits": "--splits",
    "commission_bp": "--commission-bp",
    "slippage_ticks": "--slippage-ticks",
    "max_epochs": "--epochs",
    "max_train_rows": "--max-train-rows",
    "sample_days": "--sample-days",
    "duration_s": "--duration",
    "recent_expiry_days": "--recent-expiry-days",
}
_FIELD_PATTERN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _FLAG_OF_FIELD), key=len, reverse=True)) + r")\b")


def _flag_hint(message: str) -> str:
    """`` (see --chunk-days)`` when the server's message names a field a flag sets."""
    match = _FIELD_PATTERN.search(message)
    return f" (see {_FLAG_OF_FIELD[match.group(1)]})" if match else ""


def _follows(args: argparse.Namespace) -> bool:
    """Whether a long-running command waits for its job: ``--wait``; always with ``--local`` (the
    in-process server ends with the command) and for ``record`` without ``--duration`` (it runs
    until stopped, so its job ends with the command)."""
    if args.wait or args.local:
        return True
    return args.command == "record" and not getattr(args, "duration", None)


def _add_dashboard_flags(parser: argparse.ArgumentParser) -> None:
    # --host/--port already name the gRPC server, so the dashboard's own address has its own flags.
    parser.add_argument("--dashboard-host", default="127.0.0.1", help="dashboard bind address (default 127.0.0.1)")
    parser.add_argument("--dashboard-port", type=port, default=8000, help="dashboard port (default 8000)")


def _run_dashboard(args: argparse.Namespace, out: Output) -> int:
    # Imported here: NiceGUI is heavy and only this command needs it.
    from ghtrader.interfaces.dashboard import DashboardConfig, DashboardConfigError
    from ghtrader.interfaces.dashboard.app import run_dashboard

    target_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    config = DashboardConfig(
        target=f"{target_host}:{args.port}",
        host=args.dashboard_host,
        port=args.dashboard_port,
        token=args.token or None,
    )
    try:
        config.check()
    except DashboardConfigError as exc:
        out.error(str(exc))
        return EXIT_USAGE
    run_dashboard(config)
    return EXIT_OK


@contextmanager
def _dashboard_child(args: argparse.Namespace) -> Iterator[None]:
    """``serve --dashboard``: the dashboard in a child process for the server's lifetime."""
    command = [sys.executable, "-m", "ghtrader.main", "--host", args.host, "--port", str(args.port)]
    if args.token:
        command += ["--token", args.token]
    command += ["dashboard", "--dashboard-host", args.dashboard_host, "--dashboard-port", str(args.dashboard_port)]
    child = subprocess.Popen(command)
    try:
        yield
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _dispatch(target: str, token: str | None, args: argparse.Namespace, out: Output) -> int:
    detach = not _follows(args)
    with GhTraderClient(
        target, token=token, timeout_s=args.timeout, source="terminal", no_wait=args.no_wait, detach=detach
    ) as client:
        try:
            return int(args.handler(client, args, out))
        except JobSubmitted as sub:
            out.result(
                {"job_id": sub.job_id, "submitted": True},
                f"job {sub.job_id} submitted: `ghtrader jobs logs {sub.job_id} --follow` follows it, "
                f"`ghtrader jobs show {sub.job_id}` shows its state (or run the command with --wait)",
            )
            return EXIT_OK
