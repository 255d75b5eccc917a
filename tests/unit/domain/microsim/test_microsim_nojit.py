"""With NUMBA_DISABLE_JIT=1 the micro-simulator runs as plain Python and gives the same fills."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

_RUN = """
from ghtrader.domain.microsim import Latency, QuoteStrategy, SimConfig, simulate
from tests.unit.domain.microsim._book import MS, random_book

def run():
    cfg = SimConfig.for_variety(
        "cu", queue_model="prob_power", feed_latency=Latency(5 * MS), entry_latency=Latency(700 * MS),
        cancel_latency=Latency(300 * MS),
    )
    return simulate(random_book(150, seed=8), cfg, strategy=QuoteStrategy(qty=2, max_position=3))
"""


def test_plain_python_replay_matches_the_jit(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import numpy as np
        from numba.core import config
        assert config.DISABLE_JIT
        {textwrap.indent(_RUN, "        ").strip()}
        r = run()
        np.save({str(tmp_path / "fills.npy")!r}, r.fills)
        np.save({str(tmp_path / "equity.npy")!r}, r.equity)
        """
    )
    root = Path(__file__).resolve().parents[4]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300, cwd=root)
    scope: dict[str, object] = {}
    exec(_RUN, scope)  # the same definition, jitted in this process
    r = scope["run"]()  # type: ignore[operator]
    assert r.fills.size > 5
    np.testing.assert_array_equal(np.load(tmp_path / "fills.npy"), r.fills)
    np.testing.assert_allclose(np.load(tmp_path / "equity.npy")["pnl_net"], r.equity["pnl_net"])
