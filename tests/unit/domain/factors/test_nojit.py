"""Without JIT (NUMBA_DISABLE_JIT=1) the kernels run as plain Python and give the same values."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np

from ._synth import run_batch

N = 700  # ticks: long enough for every window up to 500 to produce values, short enough for Python


def test_plain_python_kernels_match_the_jit(tmp_path, synth):
    s = synth.slice(6800, 6800 + N)  # crosses the trading-day change at 7000
    np.savez(
        tmp_path / "in.npz",
        ticks=s.ticks,
        day=s.day.view(np.int64),
        seg=s.seg,
        **{f"x_{k}": v for k, v in s.extras.items()},
    )
    script = textwrap.dedent(
        f"""
        import numpy as np
        from numba.core import config
        assert config.DISABLE_JIT
        np.seterr(all="ignore")  # plain Python evaluates both sides of the kernels' selects
        from ghtrader.domain.factors import OnlineFactorEngine, compute_factor_matrix
        z = np.load({str(tmp_path / "in.npz")!r})
        extras = {{k[2:]: z[k] for k in z.files if k.startswith("x_")}}
        mat, names = compute_factor_matrix(z["ticks"], z["day"], z["seg"], extras=extras, price_tick={s.price_tick})
        eng = OnlineFactorEngine(price_tick={s.price_tick})
        online = np.array([eng.update(z["ticks"][i], int(z["day"][i]), int(z["seg"][i]),
                                      {{k: float(v[i]) for k, v in extras.items()}}) for i in range(150)])
        np.savez({str(tmp_path / "out.npz")!r}, mat=mat, online=online)
        """
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)
    got = np.load(tmp_path / "out.npz")
    want, names = run_batch(s)
    covered = np.isfinite(want).any(axis=0)
    assert covered.sum() >= 0.9 * len(names), "most factors must produce values in the no-JIT window"
    np.testing.assert_allclose(got["mat"], want, rtol=1e-12, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(got["online"], want[:150], rtol=1e-12, atol=1e-12, equal_nan=True)
