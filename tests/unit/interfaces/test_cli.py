"""CLI behaviour that needs no server: usage errors, unreachable server, exit codes."""

from __future__ import annotations

import argparse
import io
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest

from ghtrader.interfaces.cli import EXIT_CODES, CliHooks, ConnectionDefaults, run
from ghtrader.interfaces.cli.app import build_parser
from ghtrader.interfaces.cli.arguments import latest_trading_day, trading_day


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


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser(ConnectionDefaults(host="127.0.0.1", port=50051)).parse_args(argv)


def test_global_flags_work_after_the_command_too() -> None:
    args = _parse(["status", "--json", "--port", "1234"])
    assert args.json is True and args.port == 1234
    args = _parse(
        [
            "download",
            "SHFE.cu2602",
            "--start",
            "2024-01-02",
            "--end",
            "2024-01-05",
            "--port",
            "1234",
            "--host",
            "10.0.0.9",
        ]
    )
    assert (args.host, args.port, args.json) == ("10.0.0.9", 1234, False)
    args = _parse(["data", "verify", "--var", "SHFE.cu", "--json", "--timeout", "7"])
    assert args.json is True and args.timeout == 7.0


def test_global_flags_before_the_command_are_not_reset_by_the_subcommand() -> None:
    args = _parse(["--port", "1234", "--json", "--token", "t", "status"])
    assert (args.port, args.json, args.token, args.timeout) == (1234, True, "t", 600.0)
    assert _parse(["--port", "1", "status", "--port", "2"]).port == 2


def test_serve_takes_host_and_port_after_the_command() -> None:
    served: list[tuple[str, int]] = []
    code, _, _ = _run(["serve", "--host", "127.0.0.3", "--port", "6002"], _hooks(served))
    assert code == 0 and served == [("127.0.0.3", 6002)]


def test_status_json_after_the_command_reaches_the_connection_step() -> None:
    code, out, err = _run(["status", "--json", "--timeout", "2"])
    assert code == 2 and "ghtrader serve" in err and out == ""


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["download", "SHFE.cu2602", "--start", "2024-01-05", "--end", "2024-01-02"], "--start"),
        (["download", "SHFE.cu2602", "--start", "2024-01-02", "--end", "2999-01-04"], "--end"),
        (["download", "SHFE.cu2602", "--start", "2024-13-01", "--end", "2024-01-04"], "--start"),
        (
            ["download", "SHFE.cu2602", "--start", "2024-01-02", "--end", "2024-01-04", "--chunk-days", "0"],
            "--chunk-days",
        ),
        (
            [
                "download-contract-range",
                "--var",
                "SHFE.cu",
                "--first",
                "SHFE.cu2601",
                "--last",
                "SHFE.cu2606",
                "--chunk-days",
                "-1",
            ],
            "--chunk-days",
        ),
        (["update", "--var", "SHFE.cu", "--recent-expiry-days", "-1"], "--recent-expiry-days"),
        (["record", "SHFE.cu2602", "--duration", "0"], "--duration"),
        (["audit", "--sample-days", "0"], "--sample-days"),
        (["data", "verify", "--var", "SHFE.cu", "--start", "2024-03-01", "--end", "2024-02-01"], "--start"),
        (["main-schedule", "--var", "SHFE.cu", "--switch-ratio", "0"], "--switch-ratio"),
        (["main-l5", "--var", "SHFE.cu", "--switch-ratio", "0.5"], "--switch-ratio"),
        (["build", "KQ.m@SHFE.cu", "--k", "0"], "--k"),
        (["build", "KQ.m@SHFE.cu", "--horizons", "10,0"], "--horizons"),
        (["build", "KQ.m@SHFE.cu", "--end", "2999-12-31"], "--end"),
        (["benchmark", "lightgbm", "--window", "0"], "--window"),
        (["benchmark", "lightgbm", "--horizon", "-5"], "--horizon"),
        (["benchmark", "lightgbm", "--splits", "0"], "--splits"),
        (["benchmark", "lightgbm", "--commission-bp", "-1"], "--commission-bp"),
        (["compare", "--models", "logistic", "--epochs", "0"], "--epochs"),
        (["train", "lightgbm", "--start", "2024-02-01", "--end", "2024-01-01"], "--start"),
        (["train", "lightgbm", "--max-train-rows", "zero"], "--max-train-rows"),
        (["status", "--port", "70000"], "--port"),
        (["status", "--timeout", "0"], "--timeout"),
    ],
)
def test_bad_input_is_refused_before_any_call_naming_the_argument(argv: list[str], named: str) -> None:
    code, out, err = _run(argv)  # no server runs: a call would exit 2 with "no ghTrader server" instead
    assert code == 2, err
    assert named in err and "no ghTrader server" not in err
    assert out == ""


def test_commission_zero_and_recent_expiry_zero_are_accepted() -> None:
    args = _parse(["benchmark", "lightgbm", "--commission-bp", "0", "--slippage-ticks", "0"])
    assert args.commission_bp == 0.0 and args.slippage_ticks == 0.0
    assert _parse(["benchmark", "lightgbm"]).commission_bp is None  # unset: the server's default
    assert _parse(["update", "--var", "SHFE.cu", "--recent-expiry-days", "0"]).recent_expiry_days == 0


def test_the_latest_trading_day_moves_to_the_next_weekday_with_the_night_session() -> None:
    friday_noon_bj = datetime(2024, 1, 5, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
    friday_night_bj = datetime(2024, 1, 5, 13, 30, tzinfo=UTC)  # 21:30 in Beijing
    assert latest_trading_day(friday_noon_bj) == date(2024, 1, 5)
    assert latest_trading_day(friday_night_bj) == date(2024, 1, 8)  # Monday's night session
    assert trading_day("2024-01-08", now=friday_night_bj) == "2024-01-08"
    with pytest.raises(argparse.ArgumentTypeError, match="in the future"):
        trading_day("2024-01-08", now=friday_noon_bj)


def test_no_online_calibration_flag_on_paper_and_trade() -> None:
    assert _parse(["paper", "--model", "m"]).no_online_calibration is False
    assert _parse(["paper", "--model", "m", "--no-online-calibration"]).no_online_calibration is True
    assert _parse(["trade", "--mode", "sim", "--model", "m", "--no-online-calibration"]).no_online_calibration is True


def test_trading_status_shows_the_online_calibrator() -> None:
    import io

    from ghtrader.interfaces.cli.commands.trading import cmd_status
    from ghtrader.interfaces.cli.output import Output

    oc = {"mode": "fallback", "n_updates": 1234, "rolling_ll_cal": 1.01, "rolling_ll_raw": 1.02, "reason": "drift: x"}

    class _Client:
        def trading_run_status(self, run_id: str) -> dict:  # type: ignore[type-arg]
            return {"run_id": run_id, "status": "running", "online_calibration": oc}

    out = io.StringIO()
    cmd_status(_Client(), argparse.Namespace(run_id="r1"), Output(stdout=out))  # type: ignore[arg-type]
    assert "online calibrator fallback, 1,234 rows learned, log-loss 1.0100 vs raw 1.0200 (drift: x)" in out.getvalue()
