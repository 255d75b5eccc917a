"""Generated features online: the streaming kernel fed row by row (or in any chunks) equals the
batch frame values on the same rows for every operator, restarts where the batch restarts (a
segment change, a reset), never looks ahead, and the factor engine serves them in the asked order."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghtrader.domain.factors import OnlineFactorEngine, compute_factor_matrix, factor_names
from ghtrader.domain.factors.generated import PAIR_OPS, UNARY_OPS, GeneratedSpec, compute_generated, parse_generated
from ghtrader.domain.factors.online_generated import OnlineGenerated, compile_generated
from ghtrader.domain.factors.spec import FactorError

PARENTS = ("aa", "bb", "cc")

_spec = st.one_of(
    st.builds(
        lambda op, p, k: GeneratedSpec(op, (p,), k),
        st.sampled_from(UNARY_OPS),
        st.sampled_from(PARENTS),
        st.integers(1, 12),
    ),
    st.builds(
        lambda op, ab: GeneratedSpec(op, ab),
        st.sampled_from(PAIR_OPS),
        st.permutations(PARENTS).map(lambda p: (p[0], p[1])),
    ),
)


@st.composite
def _case(draw):
    n = draw(st.integers(1, 120))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    scale = np.array([1.0, 1e4, 1e-3])
    x = rng.standard_normal((n, 3)) * scale + np.array([0.0, 7e4, 0.0])
    x[rng.random((n, 3)) < draw(st.sampled_from([0.0, 0.1, 0.5]))] = np.nan
    x[rng.random(n) < 0.05, 2] = 0.0  # exact zeros: ratios are NaN there
    seg = np.cumsum(rng.random(n) < draw(st.sampled_from([0.0, 0.02, 0.2]))).astype(np.int64)
    specs = draw(st.lists(_spec, min_size=1, max_size=8, unique_by=lambda s: s.name))
    chunks = draw(st.lists(st.integers(1, 40), min_size=1, max_size=10))
    return x, seg, specs, chunks


def _batch(x: np.ndarray, seg: np.ndarray, specs, dtype=np.float64) -> np.ndarray:
    # a frame holds its factors as float32: the batch reads them so
    return compute_generated(x.astype(np.float32), PARENTS, seg, specs, dtype=dtype)


def _online(x: np.ndarray, seg: np.ndarray, specs, chunks) -> np.ndarray:
    plan = compile_generated([s.name for s in specs])
    base = np.ascontiguousarray(x[:, [PARENTS.index(p) for p in plan.base]])
    gen = OnlineGenerated(plan)
    out = np.full((x.shape[0], len(specs)), -99.0)
    lo, c = 0, 0
    while lo < x.shape[0]:
        hi = min(x.shape[0], lo + chunks[c % len(chunks)])
        gen.run(base[lo:hi], seg[lo:hi], out[lo:hi])
        lo, c = hi, c + 1
    return out


@settings(max_examples=150, deadline=None)
@given(_case())
def test_online_equals_batch_for_every_operator(case) -> None:
    x, seg, specs, chunks = case
    got = _online(x, seg, specs, chunks)
    want = _batch(x, seg, specs)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9, equal_nan=True)
    # what the model sees (float32) is bit-identical to the training frame's column
    np.testing.assert_array_equal(got.astype(np.float32), _batch(x, seg, specs, np.float32))


@settings(max_examples=60, deadline=None)
@given(_case(), st.data())
def test_online_is_causal(case, data) -> None:
    x, seg, specs, _ = case
    cut = data.draw(st.integers(0, x.shape[0] - 1))
    full = _online(x, seg, specs, [1])
    future = x.copy()
    future[cut + 1 :] = data.draw(st.sampled_from([np.nan, 0.0, 1e6]))
    np.testing.assert_array_equal(_online(future, seg, specs, [7])[: cut + 1], full[: cut + 1])


def test_tick_path_equals_batch_path() -> None:
    # calls of fewer than ROWS_BELOW rows go row by row, longer ones feature by feature
    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 3))
    x[rng.random((300, 3)) < 0.2] = np.nan
    seg = np.repeat([4, 9, 4], [90, 150, 60]).astype(np.int64)
    specs = [GeneratedSpec(op, ("bb",), 6) for op in UNARY_OPS] + [GeneratedSpec(op, ("cc", "aa")) for op in PAIR_OPS]
    ticks, batch = _online(x, seg, specs, [1]), _online(x, seg, specs, [300])
    np.testing.assert_array_equal(ticks, batch)
    assert np.isfinite(batch).mean() > 0.5


def test_reset_restarts_like_a_segment_change() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 3))
    specs = [GeneratedSpec("mean", ("aa",), 5), GeneratedSpec("lag", ("bb",), 3), GeneratedSpec("ewm", ("cc",), 4)]
    plan = compile_generated([s.name for s in specs])
    base = np.ascontiguousarray(x[:, [PARENTS.index(p) for p in plan.base]])
    gen = OnlineGenerated(plan)
    out = np.empty((50, 3))
    gen.run(base[:20], np.zeros(20, np.int64), out[:20])
    gen.reset()
    gen.run(base[20:], np.zeros(30, np.int64), out[20:])  # same segment id, but reset
    want = _batch(x, np.repeat([0, 1], [20, 30]), specs)
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-9, equal_nan=True)


def _names(stored: tuple[str, ...]) -> list[str]:
    a, b, c = stored[0], stored[5], stored[-1]
    return [
        f"gen__std20__{b}",
        a,
        f"gen__lag3__{a}",
        f"gen__diff1__{c}",
        f"gen__mean20__{b}",
        f"gen__ewm10__{a}",
        f"gen__mul__{a}__{c}",
        f"gen__div__{b}__{a}",
    ]


def test_engine_serves_generated_features_in_order_equal_to_frames(synth) -> None:
    s = synth.slice(6500, 8200)  # crosses the trading-day change (7000) and the segment change (7600)
    names = _names(tuple(n for n in factor_names() if not n.startswith("xa_")))
    eng = OnlineFactorEngine(names, s.price_tick)
    assert eng.names == tuple(names) and len(eng.generated) == 7
    assert not eng.plan.needs_extras
    online = np.array([eng.update(s.ticks[i], int(s.day[i].view(np.int64)), int(s.seg[i])) for i in range(len(s))])
    base, base_names = compute_factor_matrix(s.ticks, s.day, s.seg, eng.plan.names, price_tick=s.price_tick)
    stored = base.astype(np.float32)  # the frame's factor columns
    specs = [parse_generated(n) for n in names if n.startswith("gen__")]
    gen = compute_generated(stored, base_names, s.seg, specs, dtype=np.float64)
    gen_cols = [j for j, n in enumerate(names) if n.startswith("gen__")]
    np.testing.assert_allclose(online[:, gen_cols], gen, rtol=0, atol=1e-9, equal_nan=True)
    assert np.isfinite(online[:, gen_cols]).mean() > 0.5  # the comparison is not NaN against NaN
    np.testing.assert_array_equal(online[:, 1], base[:, base_names.index(names[1])])
    # a batch through update_many carries the same state
    eng2 = OnlineFactorEngine(names, s.price_tick)
    many = np.vstack(
        [eng2.update_many(s.ticks[lo:hi], s.day[lo:hi], s.seg[lo:hi]) for lo, hi in ((0, 333), (333, 1700))]
    )
    np.testing.assert_array_equal(many, online)


def test_engine_rejects_bad_generated_names() -> None:
    with pytest.raises(FactorError):
        OnlineFactorEngine(["gen__lag0__ofi_l1_10"])
    with pytest.raises(FactorError):
        OnlineFactorEngine(["gen__lag2__no_such_factor"])
    with pytest.raises(FactorError):
        OnlineFactorEngine(["gen__lag2__ofi_l1_10", "gen__lag2__ofi_l1_10"])
