"""Generated features: names round-trip with their lineage, the kernels equal plain NumPy
definitions, never look ahead, restart at a segment change, and the pairwise cap holds."""

from __future__ import annotations

import numpy as np
import pytest

from ghtrader.domain.factors import factor_names
from ghtrader.domain.factors.generated import (
    GeneratedSpec,
    compute_generated,
    generate_specs,
    parse_generated,
)
from ghtrader.domain.factors.spec import FactorError


def _naive(op: str, x: np.ndarray, seg: np.ndarray, k: int) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    alpha = 2.0 / (k + 1.0)
    state = np.nan
    for i in range(x.shape[0]):
        start = int(np.flatnonzero(seg[: i + 1] != seg[i])[-1] + 1) if (seg[: i + 1] != seg[i]).any() else 0
        if op == "ewm":
            if i == start:
                state = np.nan
            if np.isfinite(x[i]):
                state = x[i] if not np.isfinite(state) else state + alpha * (x[i] - state)
            out[i] = state
        elif op in ("lag", "diff"):
            if i - k >= start:
                out[i] = x[i - k] if op == "lag" else x[i] - x[i - k]
        elif i - start + 1 >= k:
            window = x[i - k + 1 : i + 1]
            window = window[np.isfinite(window)]
            if window.shape[0] >= max(1, k // 2):
                out[i] = window.mean() if op == "mean" else window.std()
    return out


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 3)) * np.array([1.0, 5.0, 0.1]) + np.array([0.0, 100.0, 0.0])
    x[rng.random(x.shape) < 0.1] = np.nan
    seg = np.repeat([0, 0, 1, 2], 100)  # three segments (the first one twice as long)
    return x, seg


@pytest.mark.parametrize(("op", "k"), [("lag", 1), ("lag", 5), ("diff", 3), ("mean", 7), ("std", 7), ("ewm", 10)])
def test_unary_operators_equal_their_numpy_definition(data, op: str, k: int) -> None:
    x, seg = data
    got = compute_generated(x, ("a", "b", "c"), seg, [GeneratedSpec(op, ("b",), k)])[:, 0]
    np.testing.assert_allclose(got, _naive(op, x[:, 1], seg, k), rtol=1e-5, atol=1e-5 * 100, equal_nan=True)


def test_pair_operators(data) -> None:
    x, seg = data
    got = compute_generated(
        x, ("a", "b", "c"), seg, [GeneratedSpec("mul", ("a", "b")), GeneratedSpec("div", ("a", "c"))]
    )
    np.testing.assert_allclose(got[:, 0], (x[:, 0] * x[:, 1]).astype(np.float32), equal_nan=True)
    np.testing.assert_allclose(got[:, 1], (x[:, 0] / x[:, 2]).astype(np.float32), rtol=1e-6, equal_nan=True)


def test_causal_and_restart_at_segment_change(data) -> None:
    x, seg = data
    specs = generate_specs(["a", "b", "c"], ratios=True)
    full = compute_generated(x, ("a", "b", "c"), seg, specs)
    future = x.copy()
    future[250:] = 7.0  # changing rows >= 250 leaves every earlier value alone
    np.testing.assert_array_equal(compute_generated(future, ("a", "b", "c"), seg, specs)[:250], full[:250])
    # segment 2 starts at row 300: its values are those of the segment computed alone
    alone = compute_generated(x[300:], ("a", "b", "c"), seg[300:], specs)
    np.testing.assert_array_equal(full[300:], alone)


def test_names_round_trip_with_lineage() -> None:
    parents = factor_names()[:4]
    specs = generate_specs(parents, ratios=True, max_pairs=3)
    assert len({s.name for s in specs}) == len(specs)
    for s in specs:
        assert parse_generated(s.name) == s
        lineage = s.lineage()
        assert lineage["parents"] == list(s.parents) and lineage["operator"] == s.op
    assert parse_generated("gen__std100__obi_l1").lookback == 99
    assert parse_generated(f"gen__mul__{parents[0]}__{parents[1]}").parents == (parents[0], parents[1])
    for bad in ("obi_l1", "gen__lag0__obi_l1", "gen__pow2__obi_l1", "gen__mul__a"):
        with pytest.raises(FactorError):
            parse_generated(bad)


def test_pairwise_terms_are_capped_and_use_the_first_parents_first() -> None:
    parents = [f"p{i}" for i in range(10)]
    specs = generate_specs(parents, lags=(), diffs=(), windows=(), ewm_spans=(), ratios=True, max_pairs=3)
    products = [s.parents for s in specs if s.op == "mul"]
    assert products == [("p0", "p1"), ("p0", "p2"), ("p1", "p2")]
    assert sum(s.op == "div" for s in specs) == 3
    assert len(generate_specs(parents, max_pairs=0)) == 10 * 8  # 2 lags, 1 diff, 2 x (mean, std), 1 ewm


def test_plain_python_kernels_match_the_jit(data, tmp_path) -> None:
    import os
    import subprocess
    import sys

    x, seg = data
    specs = generate_specs(["a", "b", "c"], ratios=True)
    np.savez(tmp_path / "in.npz", x=x, seg=seg)
    script = (
        "import numpy as np\n"
        "from numba.core import config\n"
        "assert config.DISABLE_JIT\n"
        "from ghtrader.domain.factors.generated import compute_generated, generate_specs\n"
        f"d = np.load({str(tmp_path / 'in.npz')!r})\n"
        "out = compute_generated(d['x'], ('a', 'b', 'c'), d['seg'], generate_specs(['a', 'b', 'c'], ratios=True))\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, out)\n"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)
    np.testing.assert_allclose(
        np.load(tmp_path / "out.npy"), compute_generated(x, ("a", "b", "c"), seg, specs), rtol=1e-6, equal_nan=True
    )
