"""Sizing: half-Kelly with uncertainty, volatility targeting and regime scaling on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from ghtrader.domain.risk.sizing import (
    clip_lots,
    combine_sizes,
    half_kelly_binary_fraction,
    half_kelly_fraction,
    half_kelly_lots,
    regime_scaled_lots,
    vol_target_lots,
)


@pytest.mark.parametrize(
    "lots,cap,expected",
    [(2.7, 5, 2), (-2.7, 5, -2), (9.0, 4, 4), (-9.0, 4, -4), (0.0, 4, 0), (2.9999999999, 5, 3), (0.4, 0, 0)],
)
def test_clip_lots(lots: float, cap: int, expected: int) -> None:
    assert clip_lots(lots, cap) == expected


def test_clip_lots_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        clip_lots(float("nan"), 3)
    with pytest.raises(ValueError):
        clip_lots(1.0, -1)


def test_half_kelly_shrinks_the_mean_by_its_standard_error() -> None:
    # mean 0.002, std 0.01, n 100: se 0.001 -> mu_adj 0.001; f = 0.5 * 0.001 / 0.0001 = 5
    assert half_kelly_fraction(0.002, 0.01, 100) == pytest.approx(5.0)
    assert half_kelly_fraction(-0.002, 0.01, 100) == pytest.approx(-5.0)
    # without the shrink: 0.5 * 0.002 / 0.0001 = 10
    assert half_kelly_fraction(0.002, 0.01, 100, z=0.0) == pytest.approx(10.0)
    # a mean within one standard error sizes to nothing
    assert half_kelly_fraction(0.0009, 0.01, 100) == 0.0
    # more data, less shrink: n = 10 000 -> se 0.0001 -> f = 0.5 * 0.0019 / 0.0001 = 9.5
    assert half_kelly_fraction(0.002, 0.01, 10_000) == pytest.approx(9.5)
    with pytest.raises(ValueError):
        half_kelly_fraction(0.001, 0.0, 100)
    with pytest.raises(ValueError):
        half_kelly_fraction(0.001, 0.01, 1)


def test_half_kelly_binary() -> None:
    # p 0.6, b 1: full Kelly 0.2, half 0.1 (z = 0)
    assert half_kelly_binary_fraction(0.6, 100, 1.0, z=0.0) == pytest.approx(0.1)
    # with n 100: p_adj = 0.6 - sqrt(0.24 / 100) = 0.55101; half of (2 p - 1)
    p = 0.6 - math.sqrt(0.24 / 100)
    assert half_kelly_binary_fraction(0.6, 100, 1.0) == pytest.approx(0.5 * (2 * p - 1))
    assert half_kelly_binary_fraction(0.45, 100, 1.0) == 0.0


def test_half_kelly_lots() -> None:
    # f 5 * equity 1 500 000 / (75 000 * 5) = 20 lots, capped at 4; with equity 150 000: 2 lots
    def lots(mean: float, equity: float) -> int:
        return half_kelly_lots(mean, 0.01, 100, equity=equity, price=75_000.0, multiplier=5.0, max_net_position=4)

    assert lots(0.002, 1_500_000.0) == 4
    assert lots(0.002, 150_000.0) == 2
    assert lots(-0.002, 150_000.0) == -2


def test_vol_target_lots() -> None:
    # 12 000 CNY daily vol target / (800 points daily sigma * 5 CNY/point) = 3 lots
    assert vol_target_lots(12_000.0, 800.0, 5.0, 10) == 3
    assert vol_target_lots(12_000.0, 800.0, 5.0, 10, direction=-1) == -3
    assert vol_target_lots(12_000.0, 400.0, 5.0, 4) == 4  # 6 lots capped
    assert vol_target_lots(3_000.0, 800.0, 5.0, 10) == 0  # 0.75 lot truncates to 0
    with pytest.raises(ValueError):
        vol_target_lots(12_000.0, 0.0, 5.0, 10)


def test_regime_scaled_lots() -> None:
    scales = {"trend": 1.0, "chop": 0.5, "stress": 0.0}
    assert regime_scaled_lots(3, "trend", scales, 4) == 3
    assert regime_scaled_lots(3, "chop", scales, 4) == 1
    assert regime_scaled_lots(-3, "chop", scales, 4) == -1
    assert regime_scaled_lots(3, "stress", scales, 4) == 0
    assert regime_scaled_lots(4, "unknown", scales, 4, default=0.25) == 1
    with pytest.raises(ValueError, match="unknown regime"):
        regime_scaled_lots(3, "unknown", scales, 4)
    with pytest.raises(ValueError, match="scale"):
        regime_scaled_lots(3, "bad", {"bad": -1.0}, 4)


def test_combine_sizes_takes_the_most_cautious() -> None:
    assert combine_sizes(4, 2, 3) == 2
    assert combine_sizes(-4, -2) == -2
    assert combine_sizes(3, -1) == 0
    assert combine_sizes(0, 3) == 0
