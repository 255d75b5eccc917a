"""What a trading run is asked to do, and the gate every mode passes before it starts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.trading.executor import ORDER_KINDS

__all__ = [
    "CONFIRM_LIVE", "EXECUTORS", "MODES", "SIZINGS", "VENUES", "TradingRunRequest", "account_key", "account_type",
    "check_gate",
]  # fmt: skip

MODES = ("paper", "sim", "live")
CONFIRM_LIVE = "I_UNDERSTAND"
EXECUTORS = ("direct", "target")  # limit orders per target change | a target-position task (TargetPosTask semantics)
VENUES = ("local", "tqsim", "tqkq")  # sim: the micro-sim's account | TqSdk's TqSim | TqKq (Shinny's paper account)
SIZINGS = ("fixed", "half-kelly", "vol-target")


@dataclass(frozen=True)
class TradingRunRequest:
    """A trading run: ``mode`` paper (targets and logs only), sim (a simulated account) or live."""

    mode: str
    model_id: str
    symbol: str = ""  # "" : the symbol the model was trained on
    version: str | None = None
    monitor_only: bool = False  # live only: snapshots and events, never an order
    confirm_live: str = ""  # live order routing needs CONFIRM_LIVE
    account: str = ""  # broker profile (live); "" : the default profile
    max_ticks: int = 0  # decisions before the run stops (0: no limit)
    end_ns: int = 0  # market time the run stops at (0: none)
    risk_limits: dict[str, float] = field(default_factory=dict)
    policy_fit_days: int = 1
    commission_bp: float = 1.0  # the policy's round-trip cost (as the backtest's CostModel)
    hold_rows: int | None = None  # None: the model's horizon
    flat_s: float = 5.0  # seconds before the trading day's close where the target is flat
    order_kind: str = "fak"
    aggressive: bool = True
    snapshot_every_s: float = 60.0  # market seconds between account snapshots
    replay_from_ns: int = 0  # synthetic feed only: start the market clock here (0: now)
    speedup: float = 0.0  # synthetic feed only: market seconds per wall second (0: the setting)
    initial_balance: float = 1_000_000.0  # paper book
    online_calibration: bool = True  # the online calibrator between the model and the policy (False: raw model)
    run_id: str = ""
    executor: str = "direct"  # direct | target (never both on one account and symbol)
    venue: str = "local"  # sim only: local | tqsim | tqkq
    sizing: str = "fixed"  # fixed | half-kelly | vol-target: lots of a signal (see sizing.py)
    max_lots: int = 1  # the sizer's cap (the risk engine's max_net_position still binds)
    target_vol: float = 0.0  # vol-target: the position's PnL std over risk_horizon_s (CNY)
    risk_horizon_s: float = 3600.0  # market seconds of the price sigma used by vol-target and the stress check
    shadow_model_id: str = ""  # a model decided beside production on the same ticks, never executed ("" : none)
    shadow_version: str | None = None  # None: the shadow model's version in status shadow
    canary_model_id: str = ""  # paper / sim: a candidate that takes a share of the decision blocks ("" : none)
    canary_version: str | None = None  # None: the candidate's version in status shadow, else in staging
    canary_share: float = 0.1  # share of decision blocks routed to the candidate (0 < share <= 1)
    canary_seed: int = 0  # seeds the block draws: the same seed and ticks route the same blocks
    canary_fallback_blocks: int = 30  # closed blocks compared before a fallback (0: never fall back)
    canary_fallback_margin: float = 0.0  # CNY per block the candidate's mean may trail production's
    # drift responses (drift_response.py) and the run's anomaly thresholds (alerts.py)
    fallback_model_id: str = ""  # a simpler registered model that decides once drift persists ("" : none)
    fallback_version: str | None = None  # None: the fallback model's newest version
    drift_fallback_after: int = 3  # drift windows in a row before the fallback takes over (0: never)
    anomaly_config: dict[str, Any] = field(default_factory=dict)  # overrides of the server's anomaly thresholds
    regime_model: str = ""  # a stored regime model (``regime fit``) gating the size by regime ("" : off)
    regime_scales: dict[str, float] = field(default_factory=dict)  # regime name (hmm_<k>) -> size factor >= 0
    regime_max_lots: dict[str, int] = field(default_factory=dict)  # regime name -> cap on the target's lots
    regime_stress_scales: dict[str, float] = field(default_factory=dict)  # regime name -> factor on the stress sigma

    @property
    def order_enabled(self) -> bool:
        """Whether orders may leave: sim, and live without monitor_only."""
        return self.mode == "sim" or (self.mode == "live" and not self.monitor_only)

    def validate(self) -> None:
        if self.mode not in MODES:
            raise InvalidArgument(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not self.model_id:
            raise InvalidArgument("model_id is required")
        if self.monitor_only and self.mode != "live":
            raise InvalidArgument("monitor_only applies to live mode only")
        if self.max_ticks < 0 or self.end_ns < 0 or self.replay_from_ns < 0:
            raise InvalidArgument("max_ticks, end_ns and replay_from_ns must be >= 0")
        if self.policy_fit_days < 1:
            raise InvalidArgument(f"policy_fit_days must be >= 1, got {self.policy_fit_days}")
        if self.hold_rows is not None and self.hold_rows < 1:
            raise InvalidArgument(f"hold_rows must be >= 1, got {self.hold_rows}")
        for name in ("flat_s", "snapshot_every_s", "speedup", "commission_bp", "initial_balance"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise InvalidArgument(f"{name} must be a finite number >= 0, got {v!r}")
        if self.order_kind not in ORDER_KINDS:
            raise InvalidArgument(f"order_kind must be one of {', '.join(ORDER_KINDS)}, got {self.order_kind!r}")
        for k, v in self.risk_limits.items():
            if not math.isfinite(v):
                raise InvalidArgument(f"risk limit {k} must be finite, got {v!r}")
        self._validate_execution()
        self._validate_candidates()
        if self.drift_fallback_after < 0:
            raise InvalidArgument(f"drift_fallback_after must be >= 0, got {self.drift_fallback_after}")

    def _validate_candidates(self) -> None:
        if self.canary_model_id and self.mode == "live":
            raise InvalidArgument("a canary split runs in paper and sim only: live orders follow production")
        if not (math.isfinite(self.canary_share) and 0 < self.canary_share <= 1):
            raise InvalidArgument(f"canary_share must be in (0, 1], got {self.canary_share!r}")
        if self.canary_fallback_blocks < 0:
            raise InvalidArgument(f"canary_fallback_blocks must be >= 0, got {self.canary_fallback_blocks}")
        if not (math.isfinite(self.canary_fallback_margin) and self.canary_fallback_margin >= 0):
            raise InvalidArgument(
                f"canary_fallback_margin must be a finite number >= 0, got {self.canary_fallback_margin!r}"
            )

    def _validate_execution(self) -> None:
        if self.executor not in EXECUTORS:
            raise InvalidArgument(f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.venue not in VENUES:
            raise InvalidArgument(f"venue must be one of {', '.join(VENUES)}, got {self.venue!r}")
        if self.venue != "local" and self.mode != "sim":
            raise InvalidArgument(f"venue {self.venue} applies to sim mode only (live trades the broker profile)")
        if self.sizing not in SIZINGS:
            raise InvalidArgument(f"sizing must be one of {', '.join(SIZINGS)}, got {self.sizing!r}")
        if self.max_lots < 1:
            raise InvalidArgument(f"max_lots must be >= 1, got {self.max_lots}")
        if not (math.isfinite(self.risk_horizon_s) and self.risk_horizon_s > 0):
            raise InvalidArgument(f"risk_horizon_s must be a finite number > 0, got {self.risk_horizon_s!r}")
        if not (math.isfinite(self.target_vol) and self.target_vol >= 0):
            raise InvalidArgument(f"target_vol must be a finite number >= 0, got {self.target_vol!r}")
        if self.sizing == "vol-target" and self.target_vol <= 0:
            raise InvalidArgument("vol-target sizing needs target_vol > 0 (CNY of PnL std over risk_horizon_s)")


def account_type(request: TradingRunRequest) -> str:
    """What account a run trades: paper (a virtual book), sim-local (the micro-sim's account),
    tqsim / tqkq (TqSdk's simulated accounts) or live (a broker account, monitor-only included)."""
    if request.mode == "paper":
        return "paper"
    if request.mode == "sim":
        return "sim-local" if request.venue == "local" else request.venue
    return "live"


def account_key(request: TradingRunRequest, user: str = "") -> str:
    """The account a run shares with other runs ("" when it has its own: paper, sim-local, tqsim):
    TqKq is the Shinny user's one paper account, live a broker profile."""
    if request.mode == "live":
        return f"live:{request.account or 'default'}"
    if request.mode == "sim" and request.venue == "tqkq":
        return f"tqkq:{user}"
    return ""


def check_gate(request: TradingRunRequest, *, live_enabled: bool, has_credentials: bool) -> None:
    """Refuse a live run unless every step of the gate is passed (paper and sim always pass).

    live order routing: GHTRADER_LIVE_ENABLED=true, ``confirm_live == "I_UNDERSTAND"`` and broker
    credentials; live monitor-only: credentials (no confirmation: it never sends an order).
    """
    if request.mode != "live":
        return
    if request.monitor_only:
        if not has_credentials:
            raise FailedPrecondition(
                "live monitor-only needs broker credentials: set TQ_BROKER_ID / TQ_ACCOUNT_ID / TQ_ACCOUNT_PASSWORD"
            )
        return
    if not live_enabled:
        raise FailedPrecondition("live trading is disabled: set GHTRADER_LIVE_ENABLED=true to allow it")
    if request.confirm_live != CONFIRM_LIVE:
        raise FailedPrecondition(f"live order routing needs the confirmation --confirm-live {CONFIRM_LIVE}")
    if not has_credentials:
        raise FailedPrecondition(
            "live trading needs broker credentials: set TQ_BROKER_ID / TQ_ACCOUNT_ID / TQ_ACCOUNT_PASSWORD"
        )
