"""One TqApi connection as a context manager, and how TqSdk failures become application errors.

``tqsdk`` is imported lazily (in :meth:`TqSdkSession.__enter__`): importing it prints a
disclaimer and takes seconds, and nothing should start at import time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from ghtrader.adapters.tqsdk.loader import import_tqsdk
from ghtrader.application.errors import (
    ApplicationError,
    FailedPrecondition,
    InvalidArgument,
    Unavailable,
)

if TYPE_CHECKING:
    from tqsdk import TqApi

__all__ = ["SecretLike", "TqSdkConfig", "TqSdkSession", "reveal_secret", "translate_tqsdk_error"]

log = logging.getLogger(__name__)


class _HasSecret(Protocol):
    def get_secret_value(self) -> str: ...


SecretLike = str | _HasSecret


class AccountSpecLike(Protocol):
    """What a session needs of an account choice (``account.TqAccountSpec``)."""

    @property
    def is_sim(self) -> bool: ...

    @property
    def secrets(self) -> tuple[str, ...]: ...

    def describe(self) -> str: ...

    def build(self) -> Any: ...


def reveal_secret(value: SecretLike) -> str:
    """The clear text of a plain string or a ``SecretStr``-like value."""
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if callable(getter) else str(value)


_reveal = reveal_secret


@dataclass(frozen=True)
class TqSdkConfig:
    """How to reach TqSdk: the Shinny account and optional service URL overrides.

    ``password`` may be a plain string or anything with ``get_secret_value()`` (pydantic
    ``SecretStr``); it is never shown by ``repr`` nor logged. URLs left ``None`` fall back to
    TqSdk's own defaults and its ``TQ_AUTH_URL`` / ``TQ_MD_URL`` / ``TQ_INS_URL`` variables.
    """

    user: SecretLike
    password: SecretLike = field(repr=False)
    md_url: str | None = None
    auth_url: str | None = None
    ins_url: str | None = None

    @property
    def user_name(self) -> str:
        """The account name in clear text (used in messages; it is not a secret)."""
        return _reveal(self.user)


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def translate_tqsdk_error(
    exc: BaseException, what: str, config: TqSdkConfig | None = None, secrets: tuple[str, ...] = ()
) -> ApplicationError:
    """Map an exception raised by TqSdk (or its HTTP client) while doing ``what`` to an
    application error with a message a person can act on; the password (and ``secrets``, e.g. a
    broker password) is redacted."""
    if isinstance(exc, ApplicationError):
        return exc
    secret = _reveal(config.password) if config is not None else ""
    detail = _redact(f"{type(exc).__name__}: {exc}", secret)
    for other in secrets:
        detail = _redact(detail, other)
    name = type(exc).__name__
    text = str(exc)
    if "认证失败" in text:  # TqAuth: "用户权限认证失败 (status, body)"
        user = config.user_name if config is not None else "?"
        return FailedPrecondition(
            f"{what}: TqSdk rejected the credentials of account {user!r} ({detail}); "
            "check the TqSdk user/password settings"
        )
    if "不支持下载历史数据" in text or "tq_dl" in text:
        return FailedPrecondition(
            f"{what}: the TqSdk account lacks the 'tq_dl' (professional data download) permission; "
            "use an account with TqSdk Pro or another data provider"
        )
    if "账户不能为空" in text or "密码不能为空" in text or "必须是字符串" in text:
        return InvalidArgument(f"{what}: TqSdk user and password must be non-empty strings; set both settings")
    if name in ("TqTimeoutError",) or "Timeout" in name:
        return Unavailable(f"{what}: TqSdk did not answer in time ({detail}); check the network and retry")
    if "ConnectionError" in name or "requests" in type(exc).__module__:
        return Unavailable(f"{what}: cannot reach the TqSdk services ({detail}); check the network and retry")
    return Unavailable(f"{what}: TqSdk failed ({detail})")


class _RedactSecrets(logging.Filter):
    """Replaces secrets in the records of one logger (arguments are formatted first, so an
    object whose text holds a secret, such as a websocket frame, is redacted too)."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def _clean(self, value: object) -> object:
        if isinstance(value, (int, float)) or value is None:
            return value
        text, full = str(value), repr(value)
        if not any(s in text or s in full for s in self._secrets):
            return value
        # What the message shows (a frame's text is shortened), with the secret replaced: the
        # object itself would still carry it to any handler that looks deeper.
        return _redact_all(text, self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._clean(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self._clean(v) for k, v in record.args.items()}
        return True


def _redact_all(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = _redact(text, secret)
    return text


# The websockets library logs every frame it sends at DEBUG with the whole frame as an argument:
# the broker login frame carries the password.
_FRAME_LOGGERS = ("websockets.client", "websockets.protocol")


class TqSdkSession:
    """``with TqSdkSession(config) as api:`` opens a ``TqApi`` and closes it on exit. The account
    is a local ``TqSim`` (market data only) unless ``account`` names another (TqKq / TqAccount);
    with a broker account TqSdk's own packet log files stay off.

    Opening blocks until TqSdk has logged in and received its first market-data snapshot
    (TqSdk's own limit is 60 s).

    Raises (on enter):
        FailedPrecondition: the credentials were rejected.
        InvalidArgument: empty user or password.
        Unavailable: the services cannot be reached or did not answer.
    """

    def __init__(self, config: TqSdkConfig, account: AccountSpecLike | None = None) -> None:
        self._config = config
        self._account = account
        self._api: TqApi | None = None
        self._redactor: _RedactSecrets | None = None

    def __repr__(self) -> str:
        return f"TqSdkSession(user={self._config.user_name!r}, open={self._api is not None})"

    @property
    def api(self) -> TqApi:
        """The open ``TqApi``; raises ``FailedPrecondition`` outside the ``with`` block."""
        if self._api is None:
            raise FailedPrecondition("the TqSdk session is not open: use it as a context manager")
        return self._api

    def open(self) -> TqApi:
        """Connect (idempotent) and return the ``TqApi``."""
        if self._api is not None:
            return self._api
        cfg = self._config
        what = f"connecting to TqSdk as {cfg.user_name!r}"
        try:
            import_tqsdk()
            from tqsdk import TqApi, TqAuth, TqSim

            auth = TqAuth(cfg.user_name, _reveal(cfg.password))
            if cfg.auth_url:
                # TqAuth only reads TQ_AUTH_URL from the environment; the override goes to the
                # attribute it builds every auth request from.
                auth._auth_url = cfg.auth_url.rstrip("/")
            kwargs: dict[str, Any] = {}
            if cfg.md_url:
                kwargs["_md_url"] = cfg.md_url
            if cfg.ins_url:
                kwargs["_ins_url"] = cfg.ins_url
            spec = self._account
            if spec is None or spec.is_sim:
                account = TqSim() if spec is None else spec.build()
            else:
                account = spec.build()
                # TqSdk writes its own JSON log file of every packet for broker accounts unless
                # debug is False: keep such files (which hold the login) from being written.
                kwargs["debug"] = False
                if spec.secrets:
                    self._redactor = _RedactSecrets(spec.secrets)
                    for name in _FRAME_LOGGERS:
                        logging.getLogger(name).addFilter(self._redactor)
                what += f" on {spec.describe()}"
            log.info("connecting to TqSdk as %r", cfg.user_name)
            self._api = TqApi(account, auth=auth, disable_print=True, **kwargs)
        except Exception as exc:  # TqSdk raises bare Exception for most failures
            secrets = self._account.secrets if self._account is not None else ()
            self.close()  # detaches the redaction filter
            raise translate_tqsdk_error(exc, what, cfg, secrets) from None
        return self._api

    def close(self) -> None:
        """Close the ``TqApi`` (idempotent)."""
        api, self._api = self._api, None
        if api is not None:
            try:
                api.close()
            except Exception:  # closing must not mask the error that ended the session
                log.warning("closing the TqSdk session raised", exc_info=True)
        redactor, self._redactor = self._redactor, None
        if redactor is not None:
            for name in _FRAME_LOGGERS:
                logging.getLogger(name).removeFilter(redactor)

    def __enter__(self) -> TqApi:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
