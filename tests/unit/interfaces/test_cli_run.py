"""`ghtrader run`: exit codes that explain themselves (no server: a stand-in client)."""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

import pytest

from ghtrader.interfaces.cli.commands import pipeline as run_command
from ghtrader.interfaces.cli.output import Output
from ghtrader.interfaces.client import ApiError
from ghtrader.interfaces.client.views import RunResultView

FAILED = [{"name": "stage_failed", "subject": "main_l5 SHFE.au", "detail": "FailedPrecondition: no schedule"}]


class StandInClient:
    def __init__(self, view: RunResultView | None = None, error: ApiError | None = None) -> None:
        self.view, self.error = view, error
        self.calls: list[dict[str, Any]] = []

    def run_pipeline(self, **kw: Any) -> RunResultView:
        self.calls.append(kw)
        if self.error is not None:
            raise self.error
        assert self.view is not None
        return self.view


def _result(failed: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "start_day": "2026-11-20",
        "end_day": "2026-12-04",
        "varieties": [],
        "datasets": [],
        "notes": [],
        "coverage": {"contracts": []},
        "audit": {"ok": True, "checks": {}, "findings": []},
        "stages_s": {},
        "duration_s": 1.0,
        "failed_conditions": failed,
        "stages_completed": ["ingest SHFE.au", "verify", "audit"],
    }


def _run(argv: list[str], client: StandInClient, *, json_mode: bool = False) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    run_command.register(parser.add_subparsers())
    args = parser.parse_args(["run", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = run_command.cmd_run(client, args, Output(json_mode=json_mode, stdout=out, stderr=err))  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_exit_1_prints_each_failed_condition_by_name_on_stdout() -> None:
    client = StandInClient(RunResultView(False, "pipeline ...; FAILED: stage_failed", "", _result(FAILED)))
    code, out, _ = _run(["--days", "10"], client)
    assert code == 1
    assert "Audit: clean" in out  # the audit was clean, and the output still says why the run failed
    assert "FAILED stage_failed [main_l5 SHFE.au]: FailedPrecondition: no schedule" in out
    assert client.calls[0]["trading_days"] == 10


def test_exit_1_json_carries_the_failed_conditions() -> None:
    client = StandInClient(RunResultView(False, "s", "", _result(FAILED)))
    code, out, _ = _run([], client, json_mode=True)
    payload = json.loads(out)
    assert code == 1 and payload["failed_conditions"] == FAILED and payload["result"]["failed_conditions"] == FAILED


def test_exit_0_when_the_job_did_its_work() -> None:
    code, out, _ = _run([], StandInClient(RunResultView(True, "s", "", _result([]))))
    assert code == 0 and "Result: OK" in out


def test_days_zero_is_a_usage_error_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    client = StandInClient()
    with pytest.raises(SystemExit) as exited:
        _run(["--days", "0"], client)
    assert exited.value.code == 2 and "--days" in capsys.readouterr().err and client.calls == []


def test_invalid_argument_from_the_server_exits_2_with_its_message() -> None:
    client = StandInClient(error=ApiError("INVALID_ARGUMENT", "end_day 2099-01-02 is in the future"))
    code, out, err = _run(["--end", "2099-01-02"], client)
    assert code == 2 and out == "" and "end_day 2099-01-02 is in the future" in err
    assert client.calls[0]["end_day"] == "2099-01-02"


def test_other_server_errors_are_left_to_the_cli_framework() -> None:
    client = StandInClient(error=ApiError("UNAVAILABLE", "database down"))
    try:
        _run([], client)
    except ApiError as exc:
        assert exc.code == "UNAVAILABLE"
    else:
        raise AssertionError("expected the ApiError to propagate")
