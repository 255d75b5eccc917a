"""Regime use cases on in-memory stores: fit on ticks with planted volatility regimes, decode with
every method, list; the HMM labels follow the planted regimes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.changepoints import RupturesPeltSegmenter
from ghtrader.adapters.clustering import SklearnWindowClusterer
from ghtrader.adapters.filesystem.regime_models import FilesystemRegimeModelStore
from ghtrader.adapters.hmm import HmmlearnRegimeFitter
from ghtrader.adapters.memory import InMemoryTickStore
from ghtrader.adapters.memory.regime_store import InMemoryRegimeStateStore
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.stores import TickBatch
from ghtrader.application.regimes import (
    DecodeRegimes,
    DecodeRequest,
    FitRegimeModel,
    FitRequest,
    ListRegimes,
)
from ghtrader.domain.regimes import ObservationConfig
from ghtrader.domain.ticks import TICK_DTYPE, row_hash
from tests.fakes.system import FakeClock

SYMBOL = "SHFE.cu2405"
DAYS = [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)]
PER_DAY = 3000
BLOCK = 500
OBS = ObservationConfig(window=40, min_periods=10)


def _planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ticks of three days in 500-tick blocks alternating calm / volatile (step, spread, volume)."""
    rng = np.random.default_rng(seed)
    n = PER_DAY * len(DAYS)
    truth = (np.arange(n) // BLOCK) % 2
    step = np.where(truth == 1, 40.0, 10.0) * rng.choice([-1, 0, 0, 1], size=n)
    mid = 70_000 + np.cumsum(step)
    half = np.where(truth == 1, 20.0, 5.0)
    t = np.zeros(n, dtype=TICK_DTYPE)
    day_idx = np.arange(n) // PER_DAY
    day_ns = np.array([np.datetime64(d, "ns").astype(np.int64) for d in DAYS])
    t["datetime_ns"] = day_ns[day_idx] + 3600 * 10**9 + (np.arange(n) % PER_DAY) * 500_000_000
    t["bid_price1"] = mid - half
    t["ask_price1"] = mid + half
    t["bid_volume1"] = rng.integers(5, 50, n)
    t["ask_volume1"] = rng.integers(5, 50, n)
    per_tick = np.where(truth == 1, rng.integers(20, 80, n), rng.integers(0, 8, n))
    for d in range(len(DAYS)):
        m = day_idx == d
        t["volume"][m] = np.cumsum(per_tick[m])
    days = np.array(DAYS, dtype="datetime64[D]")[day_idx]
    return t, days, truth


@pytest.fixture
def world(tmp_path):
    ticks = InMemoryTickStore()
    t, days, truth = _planted()
    ticks.write_ticks(TickBatch(SYMBOL, "raw", t, days, row_hash(t)))
    models = FilesystemRegimeModelStore(tmp_path / "artifacts" / "regimes")
    states = InMemoryRegimeStateStore()
    clock = FakeClock()
    fit = FitRegimeModel(ticks=ticks, fitter=HmmlearnRegimeFitter(), models=models, clock=clock)
    decode = DecodeRegimes(
        ticks=ticks, models=models, states=states, segmenter=RupturesPeltSegmenter(), clock=clock,
        clusterer=SklearnWindowClusterer(),
    )  # fmt: skip
    return fit, decode, ListRegimes(models=models, states=states), states, truth


def test_fit_then_decode_follows_the_planted_regimes(world):
    fit, decode, overview, states, truth = world
    r = fit(FitRequest(SYMBOL, DAYS[0], DAYS[-1], n_states=2, seeds=(0,), n_iter=30, observation=OBS))
    assert r.n_states == 2 and r.rows == truth.size and 0 < r.rows_used < r.rows
    assert r.states[0]["means"]["log_rvol"] < r.states[1]["means"]["log_rvol"]  # id 0 = calm
    for method in ("hmm-filter", "viterbi"):
        d = decode(DecodeRequest(SYMBOL, DAYS[0], DAYS[-1], method=method))
        assert d.model_id == r.model_id and d.model_config_hash == r.model_config_hash
        assert d.written == truth.size
        stored = states.read_states(SYMBOL, method, r.model_config_hash, DAYS[0], DAYS[-1])
        settled = (np.arange(truth.size) % BLOCK) >= OBS.window  # the rolling window has caught up
        assert (stored.regime_id[settled] == truth[settled]).mean() > 0.95
        np.testing.assert_allclose(stored.probabilities.sum(axis=1), 1.0, atol=1e-9)
    again = decode(DecodeRequest(SYMBOL, DAYS[0], DAYS[-1], method="hmm-filter"))
    assert len(states.read_states(SYMBOL, "hmm-filter", again.model_config_hash, DAYS[0], DAYS[-1])) == truth.size
    view = overview(SYMBOL)
    assert [m["model_id"] for m in view.models] == [r.model_id]
    assert {s.detection_method for s in view.series} == {"hmm-filter", "viterbi"}


def test_changepoint_and_bucket_methods_store_states(world):
    _, decode, _, states, truth = world
    for method in ("bocpd", "pelt", "vol-bucket"):
        d = decode(DecodeRequest(SYMBOL, DAYS[0], DAYS[-1], method=method, stride=40, observation=OBS))
        assert d.written == truth.size and d.model_id == ""
        got = states.read_states(SYMBOL, method, d.model_config_hash, DAYS[0], DAYS[-1])
        assert len(got) == truth.size
        if method == "vol-bucket":
            assert set(np.unique(got.regime_id).tolist()) <= {-1, 0, 1, 2}
        else:  # 18 planted switches: the segment counter must move several times
            assert 5 <= d.stats["switches"] <= 200
            assert np.all(np.diff(got.regime_id) >= 0)


def test_clustering_methods_follow_the_regimes_and_report_stability(world):
    _, decode, _, states, truth = world
    for method in ("kmeans", "gmm"):
        d = decode(
            DecodeRequest(SYMBOL, DAYS[0], DAYS[-1], method=method, stride=20, n_clusters=2, bootstraps=4,
                          observation=OBS)
        )  # fmt: skip
        got = states.read_states(SYMBOL, method, d.model_config_hash, DAYS[0], DAYS[-1])
        settled = (np.arange(truth.size) % BLOCK) >= OBS.window + 20
        assert (got.regime_id[settled] == truth[settled]).mean() > 0.95
        assert len(d.stats["stability_ari"]) == 4 and d.stats["stability_ari_min"] > 0.9


def test_errors_are_explicit(world):
    fit, decode, _, _, _ = world
    with pytest.raises(NotFound):
        decode(DecodeRequest(SYMBOL, DAYS[0], DAYS[-1], method="hmm-filter"))
    with pytest.raises(InvalidArgument):
        decode(DecodeRequest(SYMBOL, DAYS[0], DAYS[-1], method="kalman"))
    with pytest.raises(InvalidArgument):
        fit(FitRequest(SYMBOL, DAYS[0], DAYS[-1], features=("nope",)))
    with pytest.raises(FailedPrecondition):
        fit(FitRequest("KQ.m@SHFE.cu", DAYS[0], DAYS[-1]))
