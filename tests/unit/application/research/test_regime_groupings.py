"""HMM regimes in the benchmark and backtest reports: fitted on training rows, decoded causally,
and the per-regime breakdown adds up to the whole."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ghtrader.adapters.hmm import HmmlearnRegimeFitter
from ghtrader.application.regimes.grouping import HmmGrouping
from ghtrader.application.research.backtest import RunBacktest
from ghtrader.application.research.benchmark import RunBenchmark
from tests.fakes.frames import synthetic_frame
from tests.fakes.system import FakeClock

from .bench_families import FRAME_ARGS, REQUEST, PriorFamily
from .test_backtest import _req, world  # noqa: F401  (the backtest world fixture)


def _grouping() -> HmmGrouping:
    return HmmGrouping(HmmlearnRegimeFitter(), n_states=3, n_iter=10, max_fit_rows=5000)


def test_benchmark_pools_metrics_by_hmm_regime() -> None:
    frame = synthetic_frame(**FRAME_ARGS)
    report = RunBenchmark(clock=FakeClock(), regimes=_grouping())(
        replace(REQUEST, write_report=False), frame=frame, family=PriorFamily()
    )
    by = report.pooled["by_hmm_regime"]
    assert set(by) == {"hmm_0", "hmm_1", "hmm_2"}
    assert sum(g["n"] for g in by.values()) == report.pooled["classification"]["n"] > 0
    assert sum(g["n_trades"] for g in by.values()) == report.pooled["trading"]["n_trades"]
    assert sum(g["net_pnl"] for g in by.values()) == pytest.approx(report.pooled["trading"]["net"]["total"])
    from ghtrader.application.research.benchmark_figures import benchmark_tables

    groups = next(t for t in benchmark_tables([report]) if t.title.startswith("By volatility regime"))
    assert {"hmm_0", "hmm_1", "hmm_2"} <= {row[1] for row in groups.rows}
    plain = RunBenchmark(clock=FakeClock())(replace(REQUEST, write_report=False), frame=frame, family=PriorFamily())
    assert "by_hmm_regime" not in plain.pooled


@pytest.mark.slow  # the backtest world trains a model first
def test_backtest_reports_pnl_by_hmm_regime(world) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    backtest, _, _ = world
    bt = RunBacktest(registry=backtest._registry, artifacts=backtest._artifacts, runtime=backtest._runtime,
                     ticks=backtest._ticks, clock=FakeClock(), regimes=_grouping())  # fmt: skip
    r = bt(_req())
    by = r.by_hmm_regime
    assert by is not None and set(by) == {"hmm_0", "hmm_1", "hmm_2"}
    assert sum(g["snapshots"] for g in by.values()) == r.rows
    assert sum(g["pnl_net"] for g in by.values()) == pytest.approx(r.summary["pnl_net"])
    assert sum(g["fills"] for g in by.values()) == r.summary["fills"]
    assert "by_hmm_regime" in r.to_payload()
    from ghtrader.application.research.backtest_figures import backtest_tables

    table = next(t for t in backtest_tables(r) if t.title.startswith("By HMM regime"))
    assert [row[0] for row in table.rows] == ["hmm_0", "hmm_1", "hmm_2"]


def test_grouping_is_causal_and_fitted_on_training_rows_only() -> None:
    rng = np.random.default_rng(0)
    n = 30_000
    vol = np.repeat(rng.choice([5.0, 20.0], size=n // 1000), 1000)
    mid = 70_000 + np.cumsum(rng.normal(0, vol))
    spread = np.where(vol > 10, 20.0, 10.0)
    day = np.repeat(np.arange(3), n // 3).astype("datetime64[D]")
    g = HmmGrouping(HmmlearnRegimeFitter(), n_states=2, n_iter=20, max_fit_rows=15_000)
    obs = g.observations(mid, spread, None, day)
    train, rows = np.arange(15_000), np.arange(15_000, n)
    a = g.codes(obs, train, rows)
    assert a is not None and (a.codes == (vol[rows] > 10)).mean() > 0.9
    changed = obs.copy()
    changed[25_000:] *= 3.0  # the future (and nothing the fit saw) changes
    b = g.codes(changed, train, rows)
    assert b is not None
    np.testing.assert_array_equal(a.codes[: 25_000 - 15_000], b.codes[: 25_000 - 15_000])
    assert g.codes(obs, np.arange(20), rows) is None  # too few training rows: no grouping
