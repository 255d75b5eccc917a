"""Settings: every knob of ghTrader, read from the environment and dotenv files.

Precedence, highest first: process environment, ``runs/control/accounts.env`` (broker variables
``TQ_*`` only), ``.env``, the defaults below. Every field is documented in ``env.example``.
Secrets are ``SecretStr``: their values never appear in ``repr``, logs or API answers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ENV_FILE = Path(".env")
DEFAULT_ACCOUNTS_FILE = Path("runs/control/accounts.env")


class Settings(BaseSettings):
    """Process-wide configuration (prefix ``GHTRADER_`` unless an alias says otherwise)."""

    model_config = SettingsConfigDict(
        env_prefix="GHTRADER_",
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    # Files on disk
    data_dir: Path = Path("data")
    runs_dir: Path = Path("runs")
    artifacts_dir: Path = Path("artifacts")
    log_level: str = "INFO"
    # a build or download refuses to start with less than this free on data_dir's disk (0: off)
    min_free_gb: float = Field(2.0, ge=0.0)

    # gRPC server
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(50051, ge=0, le=65535)
    grpc_max_workers: int = Field(8, ge=1, le=256)
    api_token: SecretStr | None = None

    # Subprocess jobs (runs_dir/control/jobs.db)
    max_parallel_tqsdk_jobs: int = Field(4, ge=1)  # TqSdk-heavy jobs running at once; the rest wait queued
    job_cancel_grace_s: float = Field(10.0, ge=0.0)  # SIGTERM -> SIGKILL grace when a job is cancelled

    # Tick store
    store: Literal["postgres", "questdb"] = "postgres"
    postgres_url: SecretStr | None = None  # empty: the embedded server under data_dir/postgres
    questdb_host: str = "127.0.0.1"
    questdb_http_port: int = 9000
    questdb_pg_port: int = 8812
    questdb_user: str = "admin"
    questdb_password: SecretStr = SecretStr("quest")
    questdb_database: str = "qdb"
    # `ghtrader query` on QuestDB logs in as this PG-wire user (QuestDB's read-only user,
    # pg.readonly.user.enabled=true); empty: the store's questdb_user
    questdb_query_user: str = ""
    questdb_query_password: SecretStr = SecretStr("")

    # Data provider
    provider: Literal["synthetic", "csv", "tqsdk"] = "synthetic"
    csv_dir: Path = Path("data/csv")
    synthetic_seed: int = 7
    synthetic_signal_strength: float = Field(0.1, ge=0.0)
    synthetic_tick_interval_ms: int = Field(500, ge=10, le=60_000)  # the snapshot grid (SHFE: 500 ms)
    synthetic_anchor_date: date = date(2018, 1, 2)
    synthetic_live_speedup: float = Field(1.0, gt=0.0)  # market seconds per wall second of `record`
    holiday_url: str = ""  # empty: the cached/bundled list only (no network)
    tqsdk_user: str = Field("", validation_alias=AliasChoices("TQSDK_USER", "tqsdk_user"))
    tqsdk_password: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices("TQSDK_PASSWORD", "tqsdk_password"))
    tq_account_profiles: str = ""  # comma-separated profile names, e.g. "main,alt"

    # The server's scheduler (runs/control/schedules.db; Beijing time): the daily update of each
    # target variety, at most one update job per trading day and target
    daily_update_targets: str = ""  # e.g. "SHFE:cu,SHFE:au"; empty: no daily update
    daily_update_recent_expired_days: int = Field(10, ge=0)  # also contracts expired this recently
    daily_update_cron: str = "30 16 * * mon-fri"  # after the day session's 15:00 close
    schedule_misfire_grace_s: int = Field(3600, ge=1)  # a firing later than this (server down) is skipped
    # the continual-training loop: one daily-train job per trading day and symbol (KQ.m@ aliases)
    daily_train_symbols: str = ""  # e.g. "KQ.m@SHFE.cu"; empty: no scheduled daily-train
    daily_train_cron: str = "0 18 * * mon-fri"  # after the daily update
    daily_train_family: str = "lightgbm"  # the candidate's model family

    # Experiment tracking (ghtrader_experiments_v2): the project new experiments belong to, and an
    # MLflow tracking URI (file:///path or http://server) every finished experiment is mirrored to
    experiment_project: str = "default"
    mlflow_tracking_uri: SecretStr | None = None  # empty: no MLflow mirror
    # Fan-out work (HPO trials): a Ray cluster's address ("127.0.0.1:6379"); empty = local worker processes
    ray_address: str = ""
    fanout_workers: int = Field(0, ge=0)  # local worker processes for fan-out work; 0 = the CPU count

    # Trading: live order routing stays off unless this is true AND the run is confirmed
    live_enabled: bool = False

    # Anomaly detection (docs/alerts.md): JSON overrides of the per-type thresholds and windows,
    # e.g. {"price_spike": {"critical": 60}, "window": 900}; empty: the defaults
    anomaly_thresholds: str = ""

    @field_validator("api_token", "postgres_url", "mlflow_tracking_uri", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value in ("", None) else value

    @property
    def profile_names(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.tq_account_profiles.split(",") if p.strip())


@dataclass(frozen=True)
class BrokerAccount:
    """One broker profile: ``TQ_BROKER_ID[_P]``, ``TQ_ACCOUNT_ID[_P]``, ``TQ_ACCOUNT_PASSWORD[_P]``."""

    profile: str  # "default" for the unsuffixed variables
    broker_id: str
    account_id: SecretStr
    password: SecretStr

    @property
    def masked_account_id(self) -> str:
        return mask_identifier(self.account_id.get_secret_value())


def mask_identifier(value: str) -> str:
    """Keep at most the first two and last two characters: ``12345678`` -> ``12****78``."""
    if len(value) <= 4:
        return "*" * len(value)
    return f"{value[:2]}{'*' * (len(value) - 4)}{value[-2:]}"


def _broker_variables(env_file: Path, accounts_file: Path, environ: Mapping[str, str]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path, broker_only in ((env_file, False), (accounts_file, True)):
        if path.is_file():
            for key, value in dotenv_values(path).items():
                if value is not None and (not broker_only or key.startswith("TQ_")):
                    merged[key] = value
    merged.update({k: v for k, v in environ.items() if k.startswith("TQ_")})
    return merged


def load_broker_accounts(
    settings: Settings,
    *,
    env_file: Path = DEFAULT_ENV_FILE,
    accounts_file: Path = DEFAULT_ACCOUNTS_FILE,
    environ: Mapping[str, str] | None = None,
) -> tuple[BrokerAccount, ...]:
    """Broker profiles: the unsuffixed default (when set) plus each of ``tq_account_profiles``."""
    env = _broker_variables(env_file, accounts_file, os.environ if environ is None else environ)
    accounts: list[BrokerAccount] = []
    for profile in ("default", *settings.profile_names):
        suffix = "" if profile == "default" else f"_{profile.upper()}"
        broker = env.get(f"TQ_BROKER_ID{suffix}", "")
        account = env.get(f"TQ_ACCOUNT_ID{suffix}", "")
        if profile == "default" and not (broker or account):
            continue
        if not (broker and account):
            raise ValueError(
                f"broker profile '{profile}' is incomplete: set TQ_BROKER_ID{suffix} and "
                f"TQ_ACCOUNT_ID{suffix} (and TQ_ACCOUNT_PASSWORD{suffix}) in "
                f"{accounts_file} or .env"
            )
        accounts.append(
            BrokerAccount(
                profile=profile,
                broker_id=broker,
                account_id=SecretStr(account),
                password=SecretStr(env.get(f"TQ_ACCOUNT_PASSWORD{suffix}", "")),
            )
        )
    return tuple(accounts)


JOB_SETTINGS_ENV = "GHTRADER_JOB_SETTINGS_JSON"


def settings_to_json(settings: Settings) -> str:
    """Every setting as JSON, secrets included: how a server hands its settings to a job process."""
    values = settings.model_dump(mode="json")
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            values[name] = value.get_secret_value()
    return json.dumps(values)


def settings_from_json(text: str) -> Settings:
    """The settings :func:`settings_to_json` wrote (they win over the environment and ``.env``)."""
    return Settings(**json.loads(text))


def setting_variables() -> frozenset[str]:
    """Every environment name a setting is read from (upper case), e.g. ``GHTRADER_GRPC_PORT``."""
    names: set[str] = set()
    for field_name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):  # an alias replaces the prefixed name
            names.update(str(choice).upper() for choice in alias.choices)
        else:
            names.add(f"GHTRADER_{field_name}".upper())
    return frozenset(names)


def load_settings(env_file: Path | None = DEFAULT_ENV_FILE) -> Settings:
    """Settings from the environment and ``env_file`` (``None``: environment only)."""
    return Settings(_env_file=env_file if env_file is not None and env_file.is_file() else None)  # type: ignore[call-arg]  # BaseSettings init option, not a field
