"""Settings: precedence, secrets, broker profiles, and env.example coverage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from ghtrader.client_settings import (
    SETTING_VARIABLES,
    load_client_settings,
    misspelled_settings,
)
from ghtrader.settings import (
    Settings,
    load_broker_accounts,
    load_settings,
    mask_identifier,
    setting_variables,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("GHTRADER_", "TQ_", "TQSDK_")):
            monkeypatch.delenv(key)


def test_defaults_bind_loopback_and_use_embedded_store(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "missing.env")
    assert s.grpc_host == "127.0.0.1"
    assert s.grpc_port == 50051
    assert s.store == "postgres"
    assert s.provider == "synthetic"
    assert s.api_token is None
    assert s.postgres_url is None


def test_env_file_then_process_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("GHTRADER_GRPC_PORT=6000\nGHTRADER_STORE=questdb\nTQSDK_USER=alice\n")
    monkeypatch.setenv("GHTRADER_GRPC_PORT", "7000")
    s = load_settings(env)
    assert s.grpc_port == 7000  # process env wins
    assert s.store == "questdb"
    assert s.tqsdk_user == "alice"


def test_invalid_value_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHTRADER_STORE", "mysql")
    with pytest.raises(Exception, match="store"):
        load_settings(None)


def test_secrets_never_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHTRADER_API_TOKEN", "tok-very-secret")
    monkeypatch.setenv("TQSDK_PASSWORD", "pw-very-secret")
    s = load_settings(None)
    text = repr(s) + str(s) + s.model_dump_json()
    assert "tok-very-secret" not in text and "pw-very-secret" not in text
    assert isinstance(s.api_token, SecretStr)
    assert s.api_token.get_secret_value() == "tok-very-secret"


def test_accounts_env_overrides_broker_variables_only(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("TQ_BROKER_ID=old\nTQ_ACCOUNT_ID=11110000\nTQ_ACCOUNT_PASSWORD=a\n")
    accounts = tmp_path / "accounts.env"
    accounts.write_text(
        "TQ_BROKER_ID=newbroker\nTQ_ACCOUNT_ID=12345678\nTQ_ACCOUNT_PASSWORD=b\n"
        "TQ_BROKER_ID_ALT=alt\nTQ_ACCOUNT_ID_ALT=99990000\nTQ_ACCOUNT_PASSWORD_ALT=c\n"
        "GHTRADER_GRPC_PORT=1\n"
    )
    s = Settings(tq_account_profiles="alt", _env_file=None)  # type: ignore[call-arg]
    got = load_broker_accounts(s, env_file=env, accounts_file=accounts, environ={})
    assert [a.profile for a in got] == ["default", "alt"]
    assert got[0].broker_id == "newbroker"
    assert got[0].masked_account_id == "12****78"
    assert got[1].password.get_secret_value() == "c"
    assert "12345678" not in repr(got)


def test_incomplete_profile_is_a_clear_error(tmp_path: Path) -> None:
    s = Settings(tq_account_profiles="alt", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="TQ_BROKER_ID_ALT"):
        load_broker_accounts(s, env_file=tmp_path / "x", accounts_file=tmp_path / "y", environ={})


def test_mask_identifier() -> None:
    assert mask_identifier("1234") == "****"
    assert mask_identifier("123456") == "12**56"


def test_env_example_documents_every_setting() -> None:
    text = (ROOT / "env.example").read_text()
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        env_names = (
            [c for c in alias.choices if isinstance(c, str) and c.isupper()]
            if alias is not None
            else [f"GHTRADER_{name.upper()}"]
        )
        assert any(n in documented for n in env_names), f"{env_names} missing from env.example"
    # each setting line is preceded by a comment saying what it means
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]+=", line) and not line.startswith("TQ_"):
            assert lines[i - 1].startswith("#"), f"no explanation above {line}"


def test_a_misspelled_variable_is_named_with_the_closest_setting_and_never_its_value(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("GHTRADER_API_TOKNE=very-secret-token\nGHTRADER_STORE=questdb\n")
    environ = {"GHTRADER_GRPC_PROT": "6000", "GHTRADER_TQSDK_USER": "me", "GHTRADER_DATA_DIR": "/d", "PATH": "/bin"}
    warnings = misspelled_settings(env_file, environ)
    assert len(warnings) == 3
    by_name = {w.split()[0]: w for w in warnings}
    assert "did you mean GHTRADER_GRPC_PORT?" in by_name["GHTRADER_GRPC_PROT"]
    assert "in the environment" in by_name["GHTRADER_GRPC_PROT"]
    assert "did you mean TQSDK_USER?" in by_name["GHTRADER_TQSDK_USER"]  # the alias, not a prefixed name
    assert (
        "did you mean GHTRADER_API_TOKEN?" in by_name["GHTRADER_API_TOKNE"]
        and str(env_file) in by_name["GHTRADER_API_TOKNE"]
    )
    joined = "\n".join(warnings)
    assert "very-secret-token" not in joined and "6000" not in joined and "me?" not in joined


def test_known_settings_and_unrelated_variables_raise_no_warning(tmp_path: Path) -> None:
    environ = {name: "x" for name in setting_variables()} | {"GHTRADER_TEST_POSTGRES_URL": "x", "HOME": "/root"}
    assert misspelled_settings(None, environ) == []
    assert (
        misspelled_settings(tmp_path / "missing.env", {"ghtrader_grpc_port": "1"}) == []
    )  # names are case-insensitive
    assert "see env.example" in misspelled_settings(None, {"GHTRADER_QQQ": "1"})[0]


def test_the_cli_entry_point_warns_about_a_misspelled_variable_on_stderr(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("GHTRADER_")}
    env["GHTRADER_GRPC_PROT"] = "secret-looking-value"
    (tmp_path / ".env").write_text("GHTRADER_LOG_LEVL=DEBUG\n")
    done = subprocess.run(
        [sys.executable, "-m", "ghtrader.main", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "GHTRADER_GRPC_PROT in the environment" in done.stderr and "did you mean GHTRADER_GRPC_PORT?" in done.stderr
    assert "GHTRADER_LOG_LEVL in .env" in done.stderr and "did you mean GHTRADER_LOG_LEVEL?" in done.stderr
    assert "secret-looking-value" not in done.stderr + done.stdout
    assert "WARNING" in done.stderr  # through logging, like the server's other warnings


def test_the_client_reads_the_connection_settings_as_settings_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert setting_variables() == SETTING_VARIABLES  # the fast reader knows every setting
    env_file = tmp_path / ".env"
    env_file.write_text(
        "GHTRADER_GRPC_HOST=10.1.2.3\nghtrader_grpc_port=6001\nGHTRADER_API_TOKEN=\nGHTRADER_LOG_LEVEL=DEBUG\n"
    )
    for environ in ({}, {"GHTRADER_GRPC_PORT": "6002", "ghtrader_api_token": "tok"}, {"GHTRADER_API_TOKEN": ""}):
        with monkeypatch.context() as m:
            for key, value in environ.items():
                m.setenv(key, value)
            full, fast = load_settings(env_file), load_client_settings(env_file)
        token = full.api_token.get_secret_value() if full.api_token else None
        assert (fast.grpc_host, fast.grpc_port, fast.api_token, fast.log_level) == (
            full.grpc_host,
            full.grpc_port,
            token,
            full.log_level,
        )


def test_a_bad_port_is_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="GHTRADER_GRPC_PORT"):
        load_client_settings(None, {"GHTRADER_GRPC_PORT": "http"})
    with pytest.raises(ValueError, match="GHTRADER_GRPC_PORT"):
        load_client_settings(None, {"GHTRADER_GRPC_PORT": "70000"})
