"""Queue models against the order-level truth: the same resting orders in the L3 book and in the micro-sim.

For one simulated run, :func:`~ghtrader.domain.market_sim.l3_book.snapshot_truth` injects bids
``d`` ticks below and asks ``d`` above the best price of every few sampled L5 snapshots and gives
each its TRUE FIFO fill time and kind. :func:`study_day` places the same orders (one lot, LIMIT,
zero latency, queue ahead = the displayed size at their price) in the micro-simulator on the same
snapshots under each queue model and cancels them ``horizon_s`` later. :func:`score_study` scores
every model with :func:`~ghtrader.domain.evaluation.queue_accuracy.score_queue_model`.

Choices (also in the README section "Queue models against the L3 truth"):

* Time. Snapshot ``i`` shows the book at trading time ``(i + 1) * slot``; a snapshot model can
  only see a fill at the next snapshot, so the true time to fill is rounded UP to the snapshot
  grid (the first snapshot at or after the true fill). A model that knew the truth scores MAE 0.
* Probability. The models are deterministic: the predicted probability is the 0/1 fill indicator
  (Brier = share of orders misclassified). The AUC ranks by the model's earliness,
  ``2 - ttf / horizon`` for a predicted fill and 0 for a predicted no-fill (ties count half).
* Kinds. ``any`` scores fill / no fill; ``queue`` and ``cross`` score the event "filled by that
  kind" on both sides (truth kind 1 vs the micro-sim's ``FILL_QUEUE``; truth kind 2 vs
  ``FILL_CROSS``), so a model that fills on time by the wrong mechanism loses on the kinds only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ghtrader.domain.evaluation.queue_accuracy import QueueScore, score_queue_model
from ghtrader.domain.market_sim.l3_book import BID, L3BookConfig, snapshot_truth
from ghtrader.domain.microsim import codes
from ghtrader.domain.microsim.fees import fee_table
from ghtrader.domain.microsim.simulator import SimConfig, make_commands, simulate

__all__ = [
    "KIND_CODES",
    "StudyOrders",
    "StudyRow",
    "best_queue_model",
    "model_fill_times",
    "score_study",
    "study_day",
]

#: Fill-kind labels of the study: ``any`` fill, or the passive kind (the L3 truth and the
#: micro-sim share the codes: 1 queue exhausted, 2 crossed / traded through).
KIND_CODES: dict[str, int] = {"any": 0, "queue": codes.FILL_QUEUE, "cross": codes.FILL_CROSS}


@dataclass(frozen=True)
class StudyOrders:
    """Injected orders with their truth and each model's prediction (times in trading seconds)."""

    inject_t: np.ndarray  # injection time
    distance: np.ndarray  # ticks behind the own-side best at injection
    queue_ahead: np.ndarray  # lots displayed (and truly resting) at the price when placed
    true_t: np.ndarray  # true fill time on the snapshot grid; NaN: no fill within the horizon
    true_kind: np.ndarray  # 0 none, 1 queue, 2 cross
    pred_t: dict[str, np.ndarray]  # model -> predicted fill time (NaN: none)
    pred_kind: dict[str, np.ndarray]  # model -> 0 none, 1 queue, 2 cross
    horizon_s: float

    @staticmethod
    def concat(parts: list[StudyOrders]) -> StudyOrders:
        """Pool several runs (their models must match)."""
        if not parts:
            raise ValueError("nothing to pool")
        models = list(parts[0].pred_t)
        return StudyOrders(
            inject_t=np.concatenate([p.inject_t for p in parts]),
            distance=np.concatenate([p.distance for p in parts]),
            queue_ahead=np.concatenate([p.queue_ahead for p in parts]),
            true_t=np.concatenate([p.true_t for p in parts]),
            true_kind=np.concatenate([p.true_kind for p in parts]),
            pred_t={m: np.concatenate([p.pred_t[m] for p in parts]) for m in models},
            pred_kind={m: np.concatenate([p.pred_kind[m] for p in parts]) for m in models},
            horizon_s=parts[0].horizon_s,
        )


@dataclass(frozen=True)
class StudyRow:
    """One model's scores for one fill kind and one distance bucket."""

    model: str
    kind: str
    score: QueueScore


def model_fill_times(
    ticks: np.ndarray,
    snap: np.ndarray,
    side: np.ndarray,
    price: np.ndarray,
    config: SimConfig,
    horizon_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Micro-sim fill snapshot of one-lot resting orders placed on snapshots ``snap``.

    ``side``: +1 buy / -1 sell. Each order is sent at its snapshot's time (``config``'s latencies
    apply; zero for the study) and cancelled ``horizon_s`` later. Returns, per order, the index of
    the snapshot that filled it (-1: none) and the fill kind (0: none).
    """
    t = np.asarray(ticks["datetime_ns"], dtype=np.int64)
    n = int(snap.shape[0])
    sent = t[snap]
    rows = [(int(sent[j]), codes.LIMIT, int(side[j]), float(price[j]), 1, j, codes.OPEN) for j in range(n)]
    h_ns = int(round(horizon_s * 1e9))
    rows += [(int(sent[j]) + h_ns, codes.CANCEL, 0, 0.0, 0, j, codes.OPEN) for j in range(n)]
    res = simulate(ticks, config, commands=make_commands(rows))
    fill_idx = np.full(n, -1, dtype=np.int64)
    kind = np.zeros(n, dtype=np.int64)
    f = res.fills
    # one lot each: at most one fill per order
    fill_idx[f["order_id"]] = np.searchsorted(t, f["datetime_ns"])
    kind[f["order_id"]] = f["fill_kind"]
    return fill_idx, kind


def study_day(
    config: L3BookConfig,
    seed: int,
    n_snapshots: int,
    *,
    models: dict[str, SimConfig] | None = None,
    every_slots: int = 4,
    distances: tuple[int, ...] = (0, 1, 2),
    horizon_s: float = 60.0,
) -> StudyOrders:
    """One L3 run of ``n_snapshots`` on a uniform ``slot_ms`` grid: the truth of the injected
    orders and each model's predictions (``models``: name -> micro-sim config; default the three
    queue models with zero latency on the book's tick and multiplier)."""
    if n_snapshots < 2:
        raise ValueError("n_snapshots must be >= 2")
    slot = config.slot_s()
    grid = np.arange(n_snapshots, dtype=np.int64) * int(config.slot_ms) * 1_000_000
    run, snap = snapshot_truth(config, seed, grid, every_slots=every_slots, distances=distances, horizon_s=horizon_s)
    inj = run.injected
    if models is None:
        fees = fee_table("cu")
        models = {
            name: SimConfig(tick=config.tick, multiplier=config.multiplier, fees=fees, queue_model=name)
            for name in ("risk_averse", "prob_power", "prob_log")
        }
    ttf = inj["fill_t_s"] - inj["t_s"]
    # the first snapshot at or after the true fill (a snapshot model cannot see it earlier)
    steps = np.ceil(np.round(ttf / slot, 9))
    true_t = inj["t_s"] + steps * slot
    side = np.where(inj["side"] == BID, codes.BUY, codes.SELL)
    pred_t: dict[str, np.ndarray] = {}
    pred_kind: dict[str, np.ndarray] = {}
    for name, sim_cfg in models.items():
        idx, kind = model_fill_times(run.ticks, snap, side, inj["price"], sim_cfg, horizon_s)
        pred_t[name] = np.where(idx >= 0, (idx + 1) * slot, np.nan)
        pred_kind[name] = kind
    return StudyOrders(
        inject_t=inj["t_s"].astype(np.float64),
        distance=inj["distance_ticks"].astype(np.int64),
        queue_ahead=inj["queue_ahead"].astype(np.int64),
        true_t=true_t,
        true_kind=inj["fill_kind"].astype(np.int64),
        pred_t=pred_t,
        pred_kind=pred_kind,
        horizon_s=float(horizon_s),
    )


def _for_kind(t: np.ndarray, kind: np.ndarray, code: int) -> np.ndarray:
    return t if code == 0 else np.where(kind == code, t, np.nan)


def score_study(orders: StudyOrders, *, max_distance: int = 3) -> list[StudyRow]:
    """Scores per model, per fill kind (``any``, ``queue``, ``cross``) and per distance bucket."""
    out: list[StudyRow] = []
    h = orders.horizon_s
    for model in orders.pred_t:
        for kind, code in KIND_CODES.items():
            true_t = _for_kind(orders.true_t, orders.true_kind, code)
            pred_t = _for_kind(orders.pred_t[model], orders.pred_kind[model], code)
            hit = np.isfinite(pred_t)
            prob = hit.astype(np.float64)
            rank = np.where(hit, 2.0 - (pred_t - orders.inject_t) / h if h > 0 else 2.0, 0.0)
            scores = score_queue_model(
                true_t, orders.inject_t, orders.distance, prob, pred_t, max_distance=max_distance, rank_score=rank
            )
            out.extend(StudyRow(model, kind, s) for s in scores)
    return out


def best_queue_model(rows: list[StudyRow]) -> str:
    """The model with the lowest Brier score on fill / no fill over all orders (ties: higher AUC)."""
    overall = [r for r in rows if r.kind == "any" and r.score.distance == "all"]
    if not overall:
        raise ValueError("no overall rows to choose from")

    def key(r: StudyRow) -> tuple[float, float]:
        auc = r.score.auc if not math.isnan(r.score.auc) else 0.0
        return (r.score.brier, -auc)

    return min(overall, key=key).model
