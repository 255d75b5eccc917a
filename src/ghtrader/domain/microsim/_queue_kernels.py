"""Numba kernels of the queue-position models (formulas in queue_models.py)."""

from __future__ import annotations

import math

from numba import njit

from ghtrader.domain.microsim.codes import QUEUE_PROB_LOG, QUEUE_PROB_POWER


@njit(cache=True)
def queue_weight(model: int, x: float, power: float) -> float:
    """``f(x)`` of the probabilistic models: ``x ** power`` or ``log(1 + x)``."""
    if x <= 0.0:
        return 0.0
    if model == QUEUE_PROB_LOG:
        return math.log1p(x)
    return x**power


@njit(cache=True)
def advance_queue(
    model: int, power: float, ahead: float, prev_qty: float, new_qty: float, traded_at_price: float
) -> float:
    """The queue ahead of a resting order after one snapshot step.

    ``ahead``: lots in front before the step; ``prev_qty`` / ``new_qty``: displayed size at the
    order's price at the previous / new snapshot (NaN when the price is outside the visible
    levels); ``traded_at_price``: volume inferred to have traded at that price in the step.
    A negative result means the queue was exhausted: ``-result`` lots traded past the front.
    """
    a = ahead - traded_at_price
    if a < 0.0:
        return a
    if math.isnan(new_qty):
        return a
    if (model == QUEUE_PROB_POWER or model == QUEUE_PROB_LOG) and not math.isnan(prev_qty):
        unexplained = (prev_qty - traded_at_price) - new_qty
        if unexplained > 0.0 and a > 0.0:
            back = prev_qty - traded_at_price - a
            if back < 0.0:
                back = 0.0
            fb = queue_weight(model, back, power)
            ff = queue_weight(model, a, power)
            if fb + ff > 0.0:
                # p = f(back) / (f(back) + f(front)) of the decrease comes from behind, the rest
                # from ahead; what behind cannot supply (more than ``back`` lots) comes from ahead
                from_back = unexplained * fb / (fb + ff)
                a -= unexplained - from_back + max(from_back - back, 0.0)
    if a > new_qty:
        a = new_qty
    if a < 0.0:
        a = 0.0
    return a
