"""A trading run's records: events, snapshots and the atomically replaced ``state.json``."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

from ghtrader.application.ports.trading import TradingRunStore
from ghtrader.domain.microsim.codes import KIND_NAMES, OFFSET_NAMES, STATUS_NAMES
from ghtrader.domain.trading.orders import AccountSnapshot, OrderState, Position

__all__ = ["EVENT_KINDS", "SNAPSHOT_SCHEMA_VERSION", "RunJournal", "order_record", "position_record", "snapshot_record"]

SNAPSHOT_SCHEMA_VERSION = 2
STATE_EVENTS = 50
EVENT_KINDS = (
    "startup_snapshot",
    "preflight_failed",
    "risk_kill",
    "risk_refused",
    "wait_update_failed",
    "shutdown_signal",
    "roll",
    "roll_flatten_failed",
    "target_change",
    "executor_target",  # the target executor was handed a target (TargetPosTask semantics)
    "signals_disabled",
    "signals_enabled",
    "operator_command",
    "order_new",
    "order_update",
    "order_done",
    "trade_fill",
    "latency_summary",
    "shadow_decision",  # the shadow model's target differs from production's (a disagreement starts or changes)
    "canary_block",  # a decision block opened and the canary split drew its arm
    "canary_fallback",  # the candidate degraded: production decides from here on
    "run_finished",
    "recalibrate",  # a drift warning reset and refitted the online calibrator (drift_response.py)
    "model_fallback",  # persisting drift: the fallback model decides from the next tick on (drift_response.py)
    "model_resumed",  # the operator handed decisions back to production (resume_model)
    "anomaly",  # the run's anomaly monitor raised an event (type, severity, response; application/trading/alerts.py)
    "regime_change",  # the regime gate's most probable regime changed (from, to, probabilities; trading/regime_gate.py)
)


def iso(time_ns: int) -> str:
    """UTC ISO-8601 text of an epoch-ns instant (millisecond precision)."""
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC).isoformat(timespec="milliseconds")


def position_record(p: Position) -> dict[str, Any]:
    return {
        "symbol": p.symbol, "net": p.net, "long_today": p.long_today, "long_yd": p.long_yd,
        "short_today": p.short_today, "short_yd": p.short_yd,
    }  # fmt: skip


def order_record(o: OrderState) -> dict[str, Any]:
    r = o.request
    return {
        "order_id": o.order_id, "symbol": r.symbol, "side": r.side, "qty": r.qty, "price": r.price,
        "kind": KIND_NAMES.get(r.kind, str(r.kind)), "offset": OFFSET_NAMES.get(r.offset, str(r.offset)),
        "status": STATUS_NAMES.get(o.status, str(o.status)), "filled_qty": o.filled_qty,
        "avg_price": o.avg_price, "reason": o.reason, "client_id": r.client_id,
    }  # fmt: skip


def snapshot_record(snap: AccountSnapshot, orders: list[OrderState], meta: dict[str, Any]) -> dict[str, Any]:
    """One ``snapshots.jsonl`` line (schema_version 2)."""
    return {
        "schema_version": SNAPSHOT_SCHEMA_VERSION,
        "ts": iso(snap.time_ns),
        "time_ns": snap.time_ns,
        "balance": snap.balance,
        "available": snap.available,
        "margin": snap.margin,
        "float_profit": snap.float_profit,
        "position_profit": snap.position_profit,
        "risk_ratio": snap.risk_ratio,
        "equity": snap.equity,
        "positions": [position_record(p) for p in snap.positions],
        "orders_alive": [order_record(o) for o in orders],
        "account_meta": meta,
    }


class RunJournal:
    """Writes a run's events and snapshots and keeps ``state.json`` current."""

    def __init__(self, store: TradingRunStore, run_id: str, wall_ns: Any) -> None:
        self._store = store
        self.run_id = run_id
        self._wall_ns = wall_ns
        self._events: deque[dict[str, Any]] = deque(maxlen=STATE_EVENTS)
        self.last_snapshot: dict[str, Any] | None = None
        self.status: dict[str, Any] = {"status": "starting"}
        self.counts: dict[str, int] = {}
        self._held: list[dict[str, Any]] = []
        self._holding = False

    def hold(self) -> None:
        """Keep new events in memory until :meth:`release` (a decision tick's events are written
        once its orders are out, so file appends stay off the tick-to-decision path)."""
        self._holding = True

    def release(self) -> None:
        """Write the held events, in order, and stop holding."""
        self._holding = False
        if self._held:
            for record in self._held:
                self._store.append_event(self.run_id, record)
            self._held.clear()

    def event(self, kind: str, time_ns: int, **fields: Any) -> dict[str, Any]:
        """Append an event (``kind`` from :data:`EVENT_KINDS`) and refresh the state."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown trading event kind {kind!r}")
        record = {"kind": kind, "ts": iso(time_ns) if time_ns else "", "time_ns": int(time_ns), **fields}
        if self._holding:
            self._held.append(record)
        else:
            self._store.append_event(self.run_id, record)
        self._events.append(record)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return record

    def snapshot(self, record: dict[str, Any]) -> None:
        self._store.append_snapshot(self.run_id, record)
        self.last_snapshot = record

    def update(self, **status: Any) -> None:
        """Merge ``status`` into the run's status fields."""
        self.status.update(status)

    def write_state(self) -> None:
        """Replace ``state.json``: status fields, the last snapshot and the last 50 events."""
        self._store.write_state(
            self.run_id,
            {
                "run_id": self.run_id,
                **self.status,
                "updated_ns": int(self._wall_ns()),
                "event_counts": dict(self.counts),
                "last_snapshot": self.last_snapshot,
                "events": list(self._events),
            },
        )
