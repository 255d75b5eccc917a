"""With NUMBA_DISABLE_JIT=1 the entry kernel runs as plain Python and selects the same trades."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from ghtrader.domain.evaluation._kernels import on_signal_entries


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
