"""Queue-position models for a resting order at price ``P`` with ``ahead`` lots in front of it.

Snapshots show only the displayed size at ``P``; the models decide how the queue ahead moves
when that size changes. Each step first applies the volume inferred to have traded at ``P``
(trades.py), then the change of displayed size not explained by those trades. The simulated
order is not part of the displayed size (it is hypothetical). Select a model by its code
(``codes.QUEUE_*``):

* risk-averse (``QUEUE_RISK_AVERSE``): only trades at ``P`` advance the order,
  ``ahead' = min(ahead - traded_at_P, displayed_new)``: a depth drop caps the queue ahead at the
  new displayed size, otherwise cancellations are assumed to come from behind.
* probabilistic (``QUEUE_PROB_POWER``, ``QUEUE_PROB_LOG``): after the trades, a decrease
  ``d = displayed_prev - traded_at_P - displayed_new > 0`` is split between the lots in front
  (``front = ahead - traded_at_P``) and behind (``back = displayed_prev - traded_at_P - front``):
  a share ``p = f(back) / (f(back) + f(front))`` of it is taken from behind the order and the
  rest from in front, ``ahead' = min(front - (1 - p) d - max(p d - back, 0), displayed_new)``
  (what behind cannot supply comes from in front), ``f(x) = x ** n`` (power, ``n`` configurable)
  or ``f(x) = log(1 + x)`` (log). With nothing behind (an order just placed at the back), every
  cancelled lot was ahead of it; with ``f`` increasing, the longer side loses more lots.

In both, when ``ahead - traded_at_P < 0`` the queue is exhausted and the excess lots fill the
order (integer lots; a fractional remainder stays as a negative ``ahead``). Displayed sizes are
NaN when ``P`` lies beyond the visible levels; the depth rule is then skipped.
"""

from __future__ import annotations

from ghtrader.domain.microsim._queue_kernels import advance_queue, queue_weight
from ghtrader.domain.microsim.codes import QUEUE_PROB_LOG, QUEUE_PROB_POWER, QUEUE_RISK_AVERSE

__all__ = ["QUEUE_MODELS", "advance_queue", "queue_model_code", "queue_weight"]

QUEUE_MODELS: dict[str, int] = {
    "risk_averse": QUEUE_RISK_AVERSE,
    "prob_power": QUEUE_PROB_POWER,
    "prob_log": QUEUE_PROB_LOG,
}


def queue_model_code(name: str) -> int:
    """The kernel code of a queue model named ``risk_averse``, ``prob_power`` or ``prob_log``."""
    try:
        return QUEUE_MODELS[name]
    except KeyError:
        raise ValueError(f"unknown queue model {name!r}, expected one of {sorted(QUEUE_MODELS)}") from None
