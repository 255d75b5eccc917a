"""The trading loop's anomaly monitor and its responses by level.

:class:`RuntimeAlerts` watches each decision tick of a run with the step versions of the domain
detectors (``domain/anomaly``: the same kernels and thresholds the batch scan uses):

- data quality: ``crossed_book`` and ``bad_price`` (run lengths), ``price_spike`` (robust z of
  the 1-tick and the ``flash_rows``-tick mid change), ``spread_widening`` (spread over its
  rolling median);
- model: ``confidence_collapse`` (rolling margin over chance against the margin of the run's
  first ``model_window`` decisions) and ``prediction_shift`` (PSI of each ``drift_window``
  decisions' classes against the first window's);
- drift against the model's training reference, when the run has one (``online_drift.py``):
  ``feature_drift`` (per-feature PSI of each ``drift_window`` decisions' factor vectors),
  ``concept_drift`` (Page-Hinkley on the realised log-loss) and ``prior_shift`` (PSI of the
  realised label shares).

An event is raised when a type's episode starts or gets worse (not on every tick of it). Each one
is journaled (``anomaly``), written to the AnomalyStore when there is one, and answered by level:

- CRITICAL: ``halt`` (the run halts through the risk engine's halt path, as an operator halt:
  signals off, working orders cancelled, the engine HALTED, so no order follows);
- a drift type (``DRIFT_TYPES``) at WARNING: handed to the run's :class:`DriftResponse`
  (``drift_response.py``): ``recalibrate`` (the online calibrator is reset and refitted from its
  recent labelled rows) or, once the drift persisted ``fallback_after`` drift windows in a row
  and the run has a fallback model, ``fallback`` (that model decides from the next tick on);
  a clean window of a type ends that type's run of drift windows;
- WARNING: ``flag`` (logged and counted in :meth:`state`); INFO: logged only.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import numpy as np

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.alerts import AnomalyStore
from ghtrader.application.trading.drift_response import DriftResponse
from ghtrader.application.trading.online_drift import OnlineDrift
from ghtrader.domain.anomaly import DRIFT_TYPES, NONE, AnomalyConfig, AnomalyConfigError, AnomalyEvent, Severity
from ghtrader.domain.anomaly import _kernels as k
from ghtrader.domain.anomaly.model import class_psi

__all__ = ["VERDICT_TYPES", "RuntimeAlerts", "run_anomaly_config"]

_log = logging.getLogger("ghtrader.trading.alerts")
BREAK_S = 300  # seconds without a tick that count as a break (lunch, night -> day, a halt)
Journal = Callable[..., Any]  # RunJournal.event(kind, time_ns, **fields)
# scored once per window (or per detection): every verdict is its own episode
VERDICT_TYPES = frozenset({"prediction_shift", "feature_drift", "prior_shift", "concept_drift"})


def run_anomaly_config(base: AnomalyConfig | None, overrides: dict[str, Any] | None) -> AnomalyConfig | None:
    """A run's anomaly thresholds: the server's ``base`` (None: the monitor is off unless the run
    has ``overrides``, then the defaults) with the request's ``overrides`` (as
    :meth:`AnomalyConfig.from_mapping`: a type maps to a partial threshold, else a window)."""
    if not overrides:
        return base
    d = (base or AnomalyConfig()).to_dict()
    merged: dict[str, Any] = {**d.pop("thresholds"), **d}
    for key, value in overrides.items():
        old = merged.get(key)
        merged[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
    try:
        return AnomalyConfig.from_mapping(merged)
    except (AnomalyConfigError, TypeError, ValueError) as exc:
        raise InvalidArgument(f"anomaly_config: {exc}") from None


class _Rolling:
    """Causal rolling-median state for one series (the domain kernel's step form)."""

    def __init__(self, window: int) -> None:
        self.ring, self.ordered = np.zeros(window), np.zeros(window)
        self.st = np.zeros(2, dtype=np.int64)


class RuntimeAlerts:
    """Per-tick anomaly checks of one run (module docstring); ``observe`` returns the halt reason
    ("" : carry on)."""

    def __init__(
        self,
        config: AnomalyConfig,
        symbol: str,
        price_tick: float,
        journal: Journal,
        store: Callable[[], AnomalyStore] | None = None,
        clock_ns: Callable[[], int] = lambda: 0,
        drift: DriftResponse | None = None,
        online: OnlineDrift | None = None,
    ) -> None:
        self._cfg = config
        self.drift = drift
        self.online = online  # feature / concept / prior drift vs the training reference
        self.symbol = symbol
        self._tick = float(price_tick)
        self._journal = journal
        self._store = store
        self._clock_ns = clock_ns
        self._level: dict[str, int] = {}  # the current episode's worst level per type
        self._runs = {"crossed_book": 0, "bad_price": 0}
        self._contract = ""
        self._last_ns = 0
        self._mids: deque[float] = deque(maxlen=config.flash_rows + 1)
        self._z1, self._zf, self._spread = _Rolling(config.window), _Rolling(config.window), _Rolling(config.window)
        self._margins: deque[float] = deque(maxlen=config.model_window)
        self._ref_margin = math.nan
        self._classes: list[int] = []
        self._ref_shares: np.ndarray | None = None
        self.counts: Counter[str] = Counter()
        self.flags: set[str] = set()
        self.halted = ""

    @property
    def config(self) -> AnomalyConfig:
        return self._cfg

    # --- scores ------------------------------------------------------------------------------
    def _quality(self, tick: np.void) -> dict[str, float]:
        bid, ask, last = float(tick["bid_price1"]), float(tick["ask_price1"]), float(tick["last_price"])
        crossed = math.isfinite(bid) and math.isfinite(ask) and bid >= ask
        bad = not math.isfinite(last) or last <= 0 or bid <= 0 or ask <= 0
        self._runs["crossed_book"] = self._runs["crossed_book"] + 1 if crossed else 0
        self._runs["bad_price"] = self._runs["bad_price"] + 1 if bad else 0
        out = {kind: float(n) for kind, n in self._runs.items()}
        ok = math.isfinite(bid) and math.isfinite(ask) and ask > bid > 0
        mid = (bid + ask) / (2 * self._tick) if ok else math.nan
        self._mids.append(mid)
        lag = self._cfg.flash_rows
        cfg, floor = self._cfg, self._cfg.spike_floor_ticks
        d1 = mid - self._mids[-2] if len(self._mids) > 1 else math.nan
        df = mid - self._mids[0] if len(self._mids) > lag else math.nan
        z1 = k.robust_z_step(self._z1.ring, self._z1.ordered, self._z1.st, d1, floor, cfg.min_periods)
        zf = k.robust_z_step(self._zf.ring, self._zf.ordered, self._zf.st, df, floor, cfg.min_periods)
        out["price_spike"] = float(np.fmax(z1, zf))
        spread = (ask - bid) / self._tick if ok else math.nan
        have = self._spread.st[0]
        base = k.median_step(self._spread.ring, self._spread.ordered, self._spread.st, spread)
        out["spread_widening"] = spread / base if have >= cfg.min_periods and base > 0 else math.nan
        return out

    def _model(self, probs: np.ndarray) -> dict[str, float]:
        p = np.asarray(probs, dtype=np.float64).reshape(-1)
        if p.shape[0] < 2:
            return {}
        out: dict[str, float] = {}
        margin = float(np.max(p)) - 1.0 / p.shape[0] if np.all(np.isfinite(p)) else 0.0
        self._margins.append(max(margin, 0.0))
        w = self._cfg.model_window
        if not math.isfinite(self._ref_margin):
            if len(self._margins) == w:
                self._ref_margin = float(np.mean(self._margins))
        elif self._ref_margin > 1e-3 and len(self._margins) == w:
            out["confidence_collapse"] = 1.0 - float(np.mean(self._margins)) / self._ref_margin
        if np.all(np.isfinite(p)):
            self._classes.append(int(np.argmax(p)))
        if len(self._classes) == self._cfg.drift_window:
            shares = np.bincount(np.asarray(self._classes), minlength=p.shape[0]) / len(self._classes)
            if self._ref_shares is None:
                self._ref_shares = shares
            else:
                out["prediction_shift"] = class_psi(self._ref_shares, shares)[0]
            self._classes.clear()
        return out

    # --- events and responses ------------------------------------------------------------------
    def observe(self, tick: np.void, probs: np.ndarray, ns: int, contract: str = "") -> str:
        """Check one decision tick of ``contract``; journal and store what is new; the halt reason
        on a CRITICAL. A new contract (a roll) or a pause over ``BREAK_S`` restarts the price
        changes (a roll's basis or a session's opening gap is no spike)."""
        if contract != self._contract or (self._last_ns and ns - self._last_ns > BREAK_S * 1e9):
            self._mids.clear()
            if contract != self._contract:
                self._z1, self._zf, self._spread = (_Rolling(self._cfg.window) for _ in range(3))
            self._contract = contract
        self._last_ns = ns
        scores = self._quality(tick) | self._model(probs)
        if self.online is None:
            return self.check(scores, ns)
        return self.check(scores | self.online.scores(), ns, self.online.details)

    def check(self, scores: dict[str, float], ns: int, details: dict[str, dict[str, Any]] | None = None) -> str:
        """Grade ``scores`` (type -> score) at ``ns``: journal, store and answer what is new (the
        execution checks of ``execution_watch.py`` come in here too); the halt reason on a
        CRITICAL. ``details``: per type, added to its event's details."""
        events = []
        for kind, score in scores.items():
            level = self._cfg.threshold(kind).grade_one(score)
            if kind in VERDICT_TYPES:  # a window verdict: every window is its own episode
                self._level.pop(kind, None)
                if level == NONE and self.drift is not None:
                    self.drift.on_clear(kind)
            if level == NONE:
                self._level.pop(kind, None)
                continue
            if level <= self._level.get(kind, NONE):
                continue
            self._level[kind] = level
            extra = (details or {}).get(kind, {})
            events.append(AnomalyEvent(int(ns), kind, Severity(level), self.symbol, {"source": "trading_run", **extra},
                                       float(score), str(extra.get("method", "runtime"))))  # fmt: skip
        return self._respond(events, ns) if events else ""

    def _respond(self, events: list[AnomalyEvent], ns: int) -> str:
        reason = ""
        for e in events:
            self.counts[e.severity.name] += 1
            if e.severity == Severity.CRITICAL:
                action = "halt"
                reason = reason or f"anomaly: {e.anomaly_type} {e.drift_score:.3g} (CRITICAL)"
            elif e.anomaly_type in DRIFT_TYPES and e.severity == Severity.WARNING:
                action = "recalibrate" if self.drift is None else self.drift.on_drift(e, ns)
            else:
                action = "flag" if e.severity == Severity.WARNING else "log"
            if action != "log":
                self.flags.add(e.anomaly_type)
            more = {k: v for k, v in e.details.items() if k in ("top", "n_drifted", "shares", "recent_mean_loss")}
            self._journal("anomaly", ns, anomaly_type=e.anomaly_type, severity=e.severity.name, symbol=e.symbol,
                          drift_score=e.drift_score, detection_method=e.detection_method, response=action,
                          **more)  # fmt: skip
            _log.log(logging.WARNING if e.severity else logging.INFO, "%s %s %s score %.3g -> %s",
                     e.severity.name, e.anomaly_type, e.symbol, e.drift_score, action)  # fmt: skip
        if self._store is not None:
            try:
                self._store().write_events(events, self._clock_ns())
            except Exception as exc:  # noqa: BLE001 - the run goes on; the journal has the events
                _log.warning("anomaly events not stored: %s", exc)
        if reason and not self.halted:
            self.halted = reason
            return reason
        return ""

    def state(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "flags": sorted(self.flags), "halted": self.halted}
