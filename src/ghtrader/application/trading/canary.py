"""Canary split (paper / sim): a seeded share of decision blocks takes a candidate's target.

The unit routed is a decision block: a maximal run of decision ticks in which production's or
the candidate's direction target is not flat. Between blocks both models want no position, so
handing the next block to the other model never forces a trade, and a block holds a whole
position's life (entry, hold, exit), which is what a model's decision is judged by. Routing per
tick would flip the position between two models every few ticks and charge the switches to both.

- At a block's first tick one draw of ``random.Random(seed)`` says its arm: the candidate when
  below ``share``. The same seed and ticks route the same blocks.
- Within the block the run executes that arm's decision (sizing and risk as ever).
- Both models also follow a virtual book each (:class:`ArmBook`, one lot at mid) over every tick,
  so each closed block gives a paired PnL difference (candidate - production) on the same ticks,
  whichever arm was routed. The fallback compares the mean of the last ``fallback_blocks`` of
  them: below ``-fallback_margin`` (CNY per block), the candidate is dropped (``canary_fallback``
  with the reason) and production decides every later tick.
- The run's own PnL (its account's equity) is attributed to the arm of the block it happened in
  (the flat stretch after a block, where its closing fills land, included).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np

from ghtrader.application.trading.arm_book import ArmBook
from ghtrader.application.trading.decision import Decision, DecisionPipeline

__all__ = ["CANDIDATE", "PRODUCTION", "CanaryRouter"]

PRODUCTION, CANDIDATE = "production", "candidate"
Events = tuple[tuple[str, dict[str, Any]], ...]


def _mid(tick: np.void) -> float:
    bid, ask = float(tick["bid_price1"]), float(tick["ask_price1"])
    return (bid + ask) / 2.0 if bid > 0.0 and ask > 0.0 else math.nan


class CanaryRouter:
    """The canary split of one run (see the module docstring). ``equity``: the run's account
    equity at a market time (set by the run; attributes the executed PnL to the arms)."""

    def __init__(
        self, pipeline: DecisionPipeline, multiplier: float, *, share: float, seed: int, fallback_blocks: int,
        fallback_margin: float, model: dict[str, Any],
    ) -> None:  # fmt: skip
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], got {share}")
        self.pipeline = pipeline
        self.model = {k: model[k] for k in ("model_id", "version", "status") if k in model}
        self.share = float(share)
        self.seed = int(seed)
        self.fallback_blocks = int(fallback_blocks)
        self.fallback_margin = float(fallback_margin)
        self.equity: Callable[[int], float] = lambda _ns: 0.0
        self._rng = random.Random(self.seed)
        self.books = {PRODUCTION: ArmBook(multiplier), CANDIDATE: ArmBook(multiplier)}
        self.arm: str | None = None  # the open block's arm (None: between blocks)
        self.blocks = {PRODUCTION: 0, CANDIDATE: 0}
        self.ticks = {PRODUCTION: 0, CANDIDATE: 0}  # decision ticks inside each arm's blocks
        self.executed_pnl = {PRODUCTION: 0.0, CANDIDATE: 0.0}
        self.fallback: dict[str, Any] | None = None
        self._diffs: deque[float] = deque(maxlen=max(1, self.fallback_blocks))
        self._block_start = {PRODUCTION: 0.0, CANDIDATE: 0.0}  # the virtual books' PnL at the block's start
        self._seg_arm: str | None = None  # the arm the equity since ``_seg_equity`` belongs to
        self._seg_equity = 0.0
        self._started = False  # route() opened a block at this tick
        self._targets = (0, 0)  # (production, candidate) direction targets of the tick

    def settings(self) -> dict[str, Any]:
        """run_config's canary settings."""
        return {"share": self.share, "seed": self.seed, "unit": "block", "fallback_blocks": self.fallback_blocks,
                "fallback_margin": self.fallback_margin}  # fmt: skip

    @property
    def fallen_back(self) -> bool:
        return self.fallback is not None

    def warm(self, tick: np.void, trading_day: date) -> None:
        """A warm-up tick (before the run's start): the candidate's factor engine only."""
        if not self.fallen_back:
            self.pipeline.features(tick, trading_day)

    def route(self, production: Decision, tick: np.void, trading_day: date) -> Decision:
        """The decision the run executes at ``tick``: production's, or the candidate's inside a
        block routed to it (on the decision path: only the candidate's decision and a draw)."""
        if self.fallback is not None:
            return production
        candidate = self.pipeline.on_tick(tick, trading_day)
        self._targets = (production.target, candidate.target)
        if self.arm is None:
            if production.target == 0 and candidate.target == 0:
                return production
            self.arm = CANDIDATE if self._rng.random() < self.share else PRODUCTION
            self._started = True
        self.ticks[self.arm] += 1
        return candidate if self.arm == CANDIDATE else production

    def after_orders(self, tick: np.void, symbol: str, ns: int) -> Events:
        """Once the tick's orders are out: the candidate's calibrator learns, both virtual books
        follow, a block that opened or closed is recorded, and the fallback is checked."""
        if self.fallback is not None:
            return ()
        if self.pipeline.calibration is not None:
            self.pipeline.learn()
        mid = _mid(tick)
        prod, cand = self._targets
        self.books[PRODUCTION].follow(symbol, prod, mid)
        self.books[CANDIDATE].follow(symbol, cand, mid)
        events: list[tuple[str, dict[str, Any]]] = []
        if self._started:
            self._started = False
            assert self.arm is not None
            self._attribute(ns, self.arm)
            self.blocks[self.arm] += 1
            self._block_start = {a: b.pnl for a, b in self.books.items()}
            events.append(("canary_block", {"arm": self.arm, "block": sum(self.blocks.values()), "symbol": symbol,
                                            "production_target": prod, "candidate_target": cand}))  # fmt: skip
        elif self.arm is not None and prod == 0 and cand == 0:
            events.extend(self._close_block(ns))
        return tuple(events)

    def _attribute(self, ns: int, arm: str | None) -> None:
        """The run's equity change since the last mark goes to the arm it belonged to."""
        equity = float(self.equity(ns))
        if self._seg_arm is not None and math.isfinite(equity) and math.isfinite(self._seg_equity):
            self.executed_pnl[self._seg_arm] += equity - self._seg_equity
        self._seg_arm, self._seg_equity = arm, equity

    def _close_block(self, ns: int) -> Events:
        """Both models are flat: the block's paired PnL difference joins the fallback window."""
        self.arm = None
        c = self.books[CANDIDATE].pnl - self._block_start[CANDIDATE]
        p = self.books[PRODUCTION].pnl - self._block_start[PRODUCTION]
        self._diffs.append(c - p)
        if self.fallback_blocks <= 0 or len(self._diffs) < self.fallback_blocks:
            return ()
        mean = sum(self._diffs) / len(self._diffs)
        if mean >= -self.fallback_margin:
            return ()
        reason = (f"candidate trailed production by {-mean:.2f} CNY per block over the last "
                  f"{len(self._diffs)} blocks (margin {self.fallback_margin:.2f})")  # fmt: skip
        self._attribute(ns, PRODUCTION)
        self.fallback = {"reason": reason, "at_ns": int(ns), "blocks": sum(self.blocks.values()),
                         "mean_diff": round(mean, 2)}  # fmt: skip
        return (("canary_fallback", {**self.fallback, "model": self.model}),)

    def on_roll(self, mid: float, ns: int) -> Events:
        """A roll: both books close at the old contract's last ``mid``, an open block ends, the
        candidate's online state is reset."""
        if self.fallback is not None:
            return ()
        for book in self.books.values():
            book.flatten(mid)
        events = self._close_block(ns) if self.arm is not None else ()
        self._started = False
        self._targets = (0, 0)
        self.pipeline.reset()
        return events

    def state(self, ns: int) -> dict[str, Any]:
        """``state.json``'s ``canary`` block; ``ns``: the market time of the run's equity now."""
        executed = dict(self.executed_pnl)
        if self._seg_arm is not None:
            equity = float(self.equity(ns))
            if math.isfinite(equity) and math.isfinite(self._seg_equity):
                executed[self._seg_arm] += equity - self._seg_equity
        n = sum(self.blocks.values())
        window = list(self._diffs)
        return {
            "model": self.model, "share": self.share, "seed": self.seed, "blocks": dict(self.blocks),
            "realized_share": round(self.blocks[CANDIDATE] / n, 6) if n else None, "ticks": dict(self.ticks),
            "open_block": self.arm, "executed_pnl": {a: round(v, 2) for a, v in executed.items()},
            "virtual_pnl": {a: b.state() for a, b in self.books.items()},
            "window": {"n": len(window), "mean_diff": round(sum(window) / len(window), 2) if window else None},
            "fallen_back": self.fallback is not None, "fallback": self.fallback,
        }  # fmt: skip
