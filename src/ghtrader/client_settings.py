"""What a client process needs from the settings, read without pydantic so ``ghtrader`` starts fast.

A command sent to a running server needs only where the server is (``GHTRADER_GRPC_HOST``,
``GHTRADER_GRPC_PORT``), its token and the log level. They are read here with the same rules
as :class:`ghtrader.settings.Settings` (process environment over ``.env``, names
case-insensitive, an empty token is no token); the full settings are loaded and validated only
by ``serve`` and ``--local``. A test keeps :data:`SETTING_VARIABLES` and the parsing in step
with ``Settings``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

ENV_PREFIX = "GHTRADER_"
DEFAULT_ENV_FILE = Path(".env")

# Every environment name a setting is read from (Settings' fields; aliases replace the prefix).
SETTING_VARIABLES = frozenset(
    {
        "GHTRADER_DATA_DIR",
        "GHTRADER_RUNS_DIR",
        "GHTRADER_ARTIFACTS_DIR",
        "GHTRADER_LOG_LEVEL",
        "GHTRADER_GRPC_HOST",
        "GHTRADER_GRPC_PORT",
        "GHTRADER_GRPC_MAX_WORKERS",
        "GHTRADER_API_TOKEN",
        "GHTRADER_MAX_PARALLEL_TQSDK_JOBS",
        "GHTRADER_JOB_CANCEL_GRACE_S",
        "GHTRADER_STORE",
        "GHTRADER_POSTGRES_URL",
        "GHTRADER_RAY_ADDRESS",
        "GHTRADER_FANOUT_WORKERS",
        "GHTRADER_QUESTDB_HOST",
        "GHTRADER_QUESTDB_HTTP_PORT",
        "GHTRADER_QUESTDB_PG_PORT",
        "GHTRADER_QUESTDB_USER",
        "GHTRADER_QUESTDB_PASSWORD",
        "GHTRADER_QUESTDB_DATABASE",
        "GHTRADER_QUESTDB_QUERY_USER",
        "GHTRADER_QUESTDB_QUERY_PASSWORD",
        "GHTRADER_PROVIDER",
        "GHTRADER_CSV_DIR",
        "GHTRADER_SYNTHETIC_SEED",
        "GHTRADER_SYNTHETIC_SIGNAL_STRENGTH",
        "GHTRADER_SYNTHETIC_ANCHOR_DATE",
        "GHTRADER_SYNTHETIC_LIVE_SPEEDUP",
        "GHTRADER_SYNTHETIC_TICK_INTERVAL_MS",
        "GHTRADER_MIN_FREE_GB",
        "GHTRADER_HOLIDAY_URL",
        "TQSDK_USER",
        "TQSDK_PASSWORD",
        "GHTRADER_TQ_ACCOUNT_PROFILES",
        "GHTRADER_LIVE_ENABLED",
        "GHTRADER_DAILY_UPDATE_TARGETS",
        "GHTRADER_DAILY_UPDATE_RECENT_EXPIRED_DAYS",
        "GHTRADER_DAILY_UPDATE_CRON",
        "GHTRADER_SCHEDULE_MISFIRE_GRACE_S",
        "GHTRADER_DAILY_TRAIN_SYMBOLS",
        "GHTRADER_DAILY_TRAIN_CRON",
        "GHTRADER_DAILY_TRAIN_FAMILY",
        "GHTRADER_EXPERIMENT_PROJECT",
        "GHTRADER_MLFLOW_TRACKING_URI",
        "GHTRADER_ANOMALY_THRESHOLDS",
    }
)
# GHTRADER_* variables read by something other than Settings (the test suite's PostgreSQL).
# GHTRADER_JOB_SETTINGS_JSON: the server's settings, handed to each job process it starts.
OTHER_KNOWN_VARIABLES = frozenset({"GHTRADER_TEST_POSTGRES_URL", "GHTRADER_JOB_SETTINGS_JSON"})


class ClientSettingsError(ValueError):
    """A connection setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class ClientSettings:
    """Where the server is, how to authenticate, and how much to log."""

    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    api_token: str | None = None
    log_level: str = "INFO"


def _variables(env_file: Path | None, environ: Mapping[str, str] | None) -> dict[str, str]:
    """``env_file`` then the environment (which wins), names upper-cased."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k.upper(): v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update({k.upper(): v for k, v in (os.environ if environ is None else environ).items()})
    return merged


def load_client_settings(
    env_file: Path | None = DEFAULT_ENV_FILE, environ: Mapping[str, str] | None = None
) -> ClientSettings:
    """The connection settings, by the same rules as the full Settings."""
    found = _variables(env_file, environ)
    defaults = ClientSettings()
    port_text = found.get("GHTRADER_GRPC_PORT")
    port = defaults.grpc_port
    if port_text is not None:
        try:
            port = int(port_text.strip())
        except ValueError:
            raise ClientSettingsError(f"GHTRADER_GRPC_PORT must be an integer port, got {port_text!r}") from None
        if not 0 <= port <= 65535:
            raise ClientSettingsError(f"GHTRADER_GRPC_PORT must be in 0..65535, got {port}")
    return ClientSettings(
        grpc_host=found.get("GHTRADER_GRPC_HOST", defaults.grpc_host),
        grpc_port=port,
        api_token=found.get("GHTRADER_API_TOKEN") or None,  # secret: never printed
        log_level=found.get("GHTRADER_LOG_LEVEL", defaults.log_level),
    )


def misspelled_settings(
    env_file: Path | None = DEFAULT_ENV_FILE, environ: Mapping[str, str] | None = None
) -> list[str]:
    """One warning per ``GHTRADER_*`` name in the environment or ``env_file`` that no setting
    reads (so it is silently ignored), naming the closest known setting. Names only: values
    may be secrets and are never read into the message."""
    known = SETTING_VARIABLES | OTHER_KNOWN_VARIABLES
    # Compared without the prefix, so the part a person typed decides what is "close".
    by_stem = {name.removeprefix(ENV_PREFIX): name for name in sorted(known)}
    sources: list[tuple[str, list[str]]] = [("the environment", list(os.environ if environ is None else environ))]
    if env_file is not None and env_file.is_file():
        sources.append((str(env_file), list(dotenv_values(env_file))))
    warnings: list[str] = []
    for where, names in sources:
        for name in sorted(names):
            upper = name.upper()
            if not upper.startswith(ENV_PREFIX) or upper in known:
                continue
            close = difflib.get_close_matches(upper.removeprefix(ENV_PREFIX), list(by_stem), n=1, cutoff=0.6)
            hint = f"; did you mean {by_stem[close[0]]}?" if close else "; see env.example for the settings"
            warnings.append(f"{name} in {where} is not a ghTrader setting and is ignored{hint}")
    return warnings
