"""With NUMBA_DISABLE_JIT=1 the evaluation kernels run as plain Python and give the same results."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from ghtrader.domain.evaluation._kernels import on_signal_entries, weighted_argmax_f1_grid


def test_plain_python_entry_kernel_matches_the_jit(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    can_enter = rng.random(5_000) < 0.3
    np.save(tmp_path / "in.npy", can_enter)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from numba.core import config
        assert config.DISABLE_JIT
        from ghtrader.domain.evaluation._kernels import on_signal_entries
        x = np.load({str(tmp_path / "in.npy")!r})
        np.save({str(tmp_path / "out.npy")!r}, on_signal_entries(x, 7))
        """
    )
    subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "NUMBA_DISABLE_JIT": "1"}, check=True, timeout=120
    )
    want = on_signal_entries(can_enter, 7)
    assert want.shape[0] > 100 and np.all(np.diff(want) >= 7)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), want)


def test_plain_python_decision_rule_grid_matches_the_jit(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(0.0, 1.0, (600, 3))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 3, 600).astype(np.int64)
    np.save(tmp_path / "p.npy", probs)
    np.save(tmp_path / "y.npy", labels)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from numba.core import config
        assert config.DISABLE_JIT
        from ghtrader.domain.evaluation._kernels import weighted_argmax_f1_grid
        p, y = np.load({str(tmp_path / "p.npy")!r}), np.load({str(tmp_path / "y.npy")!r})
        g = np.array([0.5, 1.0, 2.0])
        np.save({str(tmp_path / "f1.npy")!r}, weighted_argmax_f1_grid(p, y, g, g))
        """
    )
    subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "NUMBA_DISABLE_JIT": "1"}, check=True, timeout=120
    )
    g = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(np.load(tmp_path / "f1.npy"), weighted_argmax_f1_grid(probs, labels, g, g))
