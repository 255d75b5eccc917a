"""The 20-snapshot side-by-side scenario (bench/scenario_20.py): the micro-sim's fills match the
hand-computed ones; hftbacktest's half runs only where its bench virtualenv exists."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[4] / "bench"
sys.path.insert(0, str(BENCH))
import scenario_20 as sc  # noqa: E402
import scenario_side_by_side as sbs  # noqa: E402


@pytest.mark.parametrize("model", sorted(sc.EXPECTED))
def test_microsim_fills_match_hand_computed(model: str) -> None:
    fills = sbs.run_microsim(model)
    assert {oid: snap for oid, (snap, _kind, _px) in fills.items()} == sc.EXPECTED[model]["microsim"]
    kinds = {oid: kind for oid, (_snap, kind, _px) in fills.items()}
    assert kinds == {1: "queue", 2: "cross", 3: "cross", 4: "cross", 5: "queue"}
    prices = {oid: px for oid, (_snap, _kind, px) in fills.items()}
    assert prices == {1: 70000.0, 2: 70020.0, 3: 69990.0, 4: 70000.0, 5: 69990.0}


def test_scenario_inferred_trades_are_exact() -> None:
    """Every snapshot's trades sit on at most two adjacent ticks, so the VWAP split recovers them."""
    from ghtrader.domain.microsim import split_vwap

    t = sc.ticks()
    dv = t["volume"][12] - t["volume"][11]
    da = t["amount"][12] - t["amount"][11]
    assert split_vwap(dv, da / (dv * sc.MULT), sc.TICK) == pytest.approx((69990.0, 25.0, 70000.0, 3.0))


@pytest.mark.skipif(not sbs.HFT_PYTHON.exists(), reason="needs bench/.venv-hft (run bench/hftbacktest_env.sh)")
@pytest.mark.parametrize("model", sorted(sc.EXPECTED))
def test_hftbacktest_fills_match_hand_computed(model: str) -> None:
    fills = sbs.run_hftbacktest(model)
    assert fills is not None
    assert {oid: snap for oid, (snap, _px) in fills.items()} == sc.EXPECTED[model]["hftbacktest"]
