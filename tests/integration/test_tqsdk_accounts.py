"""`ghtrader accounts list / verify` end to end: CLI -> gRPC -> use cases (wired by the container)
-> the real TqSdk client logging in to a TqAccount on the fake Shinny trading gateway.

Secrets: the broker password and the clear account id must appear nowhere: not in the CLI's
output, not in any log record (captured at DEBUG, TqSdk's included), not in the cache file.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import types
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from ghtrader.adapters.tqsdk.loader import import_tqsdk
from ghtrader.container import Container
from ghtrader.interfaces.cli import CliHooks, ConnectionDefaults, run
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.accounts import accounts_service
from ghtrader.settings import Settings
from tests.fakes.shinny import FakeShinny, FakeTradeAccount, future_instrument

import_tqsdk()  # a missing tqsdk fails here, never skips

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:coroutine 'TqApi._notify_watcher' was never awaited:RuntimeWarning"),
]

ACCOUNT_ID = "81234567"
PASSWORD = "broker-Pa55-word!"
MASKED = "81****67"


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    fake = FakeShinny(quote_datetime="2024-01-03 10:00:00.000000")
    fake.add_instruments(future_instrument("SHFE.cu2402", expire_day=date(2024, 2, 19), expired=False))
    fake.add_trade_account(
        FakeTradeAccount(ACCOUNT_ID, PASSWORD, broker_id="FAKEBROKER", balance=1_234_567.0,
                         positions={"SHFE.cu2402": {"pos_long_today": 2, "pos_short_his": 1}})
    )  # fmt: skip
    monkeypatch.chdir(tmp_path)  # no stray .env / runs/control/accounts.env
    monkeypatch.setitem(sys.modules, "tqsdk.changelog_notification", types.ModuleType("tqsdk.changelog_notification"))
    for key in list(__import__("os").environ):
        if key.startswith(("TQ_", "GHTRADER_")):
            monkeypatch.delenv(key)
    with fake:
        for key, value in fake.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("TQ_TD_URL", fake.td_url)
        monkeypatch.setenv("TQ_BROKER_ID", "FAKEBROKER")
        monkeypatch.setenv("TQ_ACCOUNT_ID", ACCOUNT_ID)
        monkeypatch.setenv("TQ_ACCOUNT_PASSWORD", PASSWORD)
        monkeypatch.setenv("TQ_BROKER_ID_ALT", "OTHER")
        monkeypatch.setenv("TQ_ACCOUNT_ID_ALT", "99887766")
        servers: list[GrpcServer] = []

        def serve(shinny_password: str = fake.password) -> int:
            settings = Settings(
                runs_dir=tmp_path / "runs", data_dir=tmp_path / "data", artifacts_dir=tmp_path / "artifacts",
                tqsdk_user=fake.user, tqsdk_password=shinny_password, tq_account_profiles="alt",
            )  # fmt: skip
            container = Container()
            container.settings.override(settings)
            uc = container.account_use_cases()
            servers.append(GrpcServer(ServerOptions(host="127.0.0.1", port=0), [accounts_service(uc)]))
            return servers[-1].start()

        try:
            yield {"fake": fake, "port": serve(), "serve": serve, "runs": tmp_path / "runs"}
        finally:
            for server in servers:
                server.stop(grace_s=0)


def _cli(port: int, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()

    def no_local() -> Iterator[str]:
        raise AssertionError("no local server here")

    hooks = CliHooks(serve=lambda h, p: 0, local_server=no_local)  # type: ignore[arg-type]
    code = run(
        ["--port", str(port), *argv], defaults=ConnectionDefaults(port=port), hooks=hooks, stdout=out, stderr=err
    )
    return code, out.getvalue(), err.getvalue()


def test_list_and_verify_through_the_cli_never_reveal_secrets(
    world: dict, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    port, fake = world["port"], world["fake"]
    outputs: list[str] = []

    code, out, err = _cli(port, "--json", "accounts", "list")
    outputs += [out, err]
    assert code == 0, err
    rows = {r["profile"]: r for r in json.loads(out)["accounts"]}
    assert set(rows) == {"default", "alt"}
    assert rows["default"]["masked_account_id"] == MASKED and rows["default"]["broker_id"] == "FAKEBROKER"
    assert rows["default"]["has_password"] and not rows["alt"]["has_password"]
    assert rows["default"]["verified"] is False

    code, out, err = _cli(port, "accounts", "verify", "default")
    outputs += [out, err]
    assert code == 0, out + err
    assert "login ok (read-only)" in out and "1,234,567.00" in out and MASKED in out
    assert "SHFE.cu2402" in out and "long 2 today + 0 yd, short 0 today + 1 yd" in out
    # read-only: a login and its settlement confirmation, never an order
    assert "req_login" in fake.stats.td_requests
    assert not {"insert_order", "cancel_order"} & set(fake.stats.td_requests)

    cache = world["runs"] / "control" / "cache" / "accounts" / "default.json"
    record = json.loads(cache.read_text())
    assert record["ok"] is True and record["masked_account_id"] == MASKED
    assert record["account"]["balance"] == 1_234_567.0
    assert record["positions"] == [
        {"symbol": "SHFE.cu2402", "long_today": 2, "long_yd": 0, "short_today": 0, "short_yd": 1}
    ]

    code, out, err = _cli(port, "--json", "accounts", "list")
    outputs += [out, err]
    listed = {r["profile"]: r for r in json.loads(out)["accounts"]}
    assert listed["default"]["verified"] and listed["default"]["last_check"]["ok"]
    assert listed["default"]["last_check"]["balance"] == 1_234_567.0

    code, out, err = _cli(port, "accounts", "verify", "nosuch")
    outputs += [out, err]
    assert code == 3 and "NOT_FOUND" in err and "nosuch" in err

    captured = capfd.readouterr()
    logs = [r.getMessage() + repr(r.__dict__) for r in caplog.records]
    assert any("TqApi" in r.name for r in caplog.records)  # TqSdk's records were captured too
    ours = [r.getMessage() + repr(r.__dict__) for r in caplog.records if r.name.startswith("ghtrader")]
    for text in (*outputs, captured.out, captured.err, *logs, cache.read_text()):
        assert PASSWORD not in text
    # The clear account id stays out of everything ghTrader writes; TqSdk's own DEBUG records
    # (auth, connection) do name it, never the password.
    for text in (*outputs, captured.out, captured.err, *ours, cache.read_text()):
        assert ACCOUNT_ID not in text


def test_a_refused_login_is_reported_cached_and_exits_1(world: dict, capfd: pytest.CaptureFixture[str]) -> None:
    wrong = "not-the-shinny-password"
    port = world["serve"](wrong)  # Shinny's auth refuses the login before any broker connection
    code, out, err = _cli(port, "accounts", "verify")
    assert code == 1, out + err
    assert "FAILED" in out and "FailedPrecondition" in out and "rejected the credentials" in out
    record = json.loads((world["runs"] / "control" / "cache" / "accounts" / "default.json").read_text())
    assert record["ok"] is False and record["account"] is None and record["masked_account_id"] == MASKED
    captured = capfd.readouterr()
    for text in (out, err, captured.out, captured.err, json.dumps(record)):
        assert wrong not in text and PASSWORD not in text and ACCOUNT_ID not in text
    assert world["fake"].stats.td_connections == 0
