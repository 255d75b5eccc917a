"""PELT changepoints with ruptures (Gaussian cost on mean and variance, ``"normal"``)."""

from __future__ import annotations

import warnings

import numpy as np

from ghtrader.application.errors import InvalidArgument

__all__ = ["RupturesPeltSegmenter"]


class RupturesPeltSegmenter:
    """:class:`ghtrader.application.ports.regimes.ChangepointSegmenter` on ruptures' PELT.

    ``model`` is a ruptures cost name: ``"normal"`` (mean and variance shifts, the default),
    ``"l2"`` (mean shifts) or ``"rbf"``. ``jump`` subsamples candidate breakpoints (ruptures'
    own speed knob: breakpoints land on multiples of it)."""

    def __init__(self, model: str = "normal", jump: int = 5) -> None:
        self._model = model
        self._jump = max(1, int(jump))

    def segment(self, x: np.ndarray, penalty: float, min_size: int) -> list[int]:
        import ruptures as rpt  # type: ignore[import-untyped]  # slow import: on first use only

        a = np.asarray(x, dtype=np.float64)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or not np.isfinite(a).all():
            raise InvalidArgument("PELT needs a finite (T,) or (T, D) series")
        if a.shape[0] < 2 * max(2, min_size):
            return []
        size = max(2, int(min_size))
        if self._model == "normal":
            with warnings.catch_warnings():  # ruptures warns about its covariance bias on every use
                warnings.simplefilter("ignore", UserWarning)
                cost = rpt.costs.CostNormal(add_small_diag=True)
            algo = rpt.Pelt(custom_cost=cost, min_size=size, jump=self._jump)
        else:
            algo = rpt.Pelt(model=self._model, min_size=size, jump=self._jump)
        algo = algo.fit(a)
        ends = algo.predict(pen=float(penalty))
        return [int(e) for e in ends if e < a.shape[0]]
