"""`ghtrader tca` output: the attribution table, the identity line and the pre-trade tables."""

from __future__ import annotations

import math

from ghtrader.interfaces.cli.commands.tca import format_analysis, format_pretrade


def _costs(spread: float, impact: float, timing: float, opportunity: float) -> dict[str, float]:
    return {"spread": spread, "impact": impact, "timing": timing, "opportunity": opportunity,
            "shortfall": spread + impact + timing + opportunity}  # fmt: skip


def _analysis(shortfall_ticks: float) -> dict:  # type: ignore[type-arg]
    order = {
        "order_id": "sim-0",
        "side": 1,
        "filled_qty": 2.0,
        "order_qty": 2.0,
        "arrival_price": 70005.0,
        "execution_price": 70010.0,
        "slippage_ticks": 0.5,
        "cost": _costs(50.0, 0.0, 0.0, 0.0),
        "fees": 3.2,
    }
    unfilled = {
        **order,
        "order_id": "sim-1",
        "filled_qty": 0.0,
        "execution_price": math.nan,
        "slippage_ticks": math.nan,
        "cost": _costs(0.0, 0.0, 0.0, -25.0),
        "fees": 0.0,
    }
    return {
        "run_id": "r1", "source": "sim_run", "symbol": "SHFE.cu2612", "tick": 10.0, "multiplier": 5.0, "orders": [order, unfilled],
        "totals": _costs(50.0, 0.0, 0.0, -25.0), "totals_ticks": {**_costs(1.0, 0.0, 0.0, -0.5),
                                                                  "shortfall": shortfall_ticks},
        "filled_qty": 2.0, "slippage_ticks_per_lot": 0.5, "fees": 3.2, "total_cost": 28.2,
        "impact": {"kind": "sqrt", "eta": 0.0, "n_obs": 1}, "impact_source": "this run", "notes": [],
        "report_html": "/runs/trading/r1/tca/x.html", "figure_paths": ["/runs/trading/r1/tca/x/a.png"],
    }  # fmt: skip


def test_the_table_has_every_order_a_total_and_says_the_identity_holds() -> None:
    text = format_analysis(_analysis(0.5))
    assert "sim-0" in text and "sim-1" in text and "TOTAL" in text
    assert "= shortfall 0.5000 (exact)" in text and "report: /runs/trading/r1/tca/x.html" in text
    row = next(line for line in text.splitlines() if line.startswith("sim-1"))
    assert "-25.00" in row and "nan" not in row.lower()  # nothing filled: no price, no slippage
    assert "MISMATCH" in format_analysis(_analysis(0.75))


def test_pretrade_tables() -> None:
    r = {
        "symbol": "SHFE.cu2612", "days": ["2026-10-23"], "half_spread_ticks": 0.5, "sigma_ticks_per_sqrt_s": 0.2,
        "lots_per_s": 3.0, "mid": 70005.0, "impact": {"kind": "sqrt", "eta": 0.1}, "impact_source": "stored r1",
        "costs": [{"schedule": s, "spread": 250.0, "impact": 10.0, "timing": 5.0, "total": 265.0}
                  for s in ("twap", "vwap", "is")],
        "schedule": "is", "slices": [{"t_s": 0.0, "lots": 12}, {"t_s": 60.0, "lots": 8}],
        "urgency_curve": [{"urgency": 0.0, "impact": 8.0, "timing": 9.0, "total": 267.0}],
        "liquidity": [{"within_ticks": 0.0, "lots": 5.0, "share_of_order": 0.25}],
    }  # fmt: skip
    text = format_pretrade(r, "buy", 20)
    assert text.startswith("pre-trade buy 20 SHFE.cu2612") and "source: stored r1" in text
    assert all(s in text for s in ("twap", "vwap", "is schedule:", "urgency", "within_ticks"))
