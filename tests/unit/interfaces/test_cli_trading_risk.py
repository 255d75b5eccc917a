"""`trading status` prints a run's VaR / CVaR lines from its ``risk_measures``."""

from __future__ import annotations

from ghtrader.interfaces.cli.commands.trading import _risk_measures_text


def test_var_lines_for_each_horizon_with_figures() -> None:
    rm = {
        "unit": "CNY",
        "intraday": {
            "n": 120,
            "95": {"historical": {"var": 150.0, "cvar": 210.5}, "student_t": {"var": 160.2, "cvar": 240.0}},
            "99": {"historical": {"var": 260.0, "cvar": 300.0}},
        },
        "daily": {"n": 2},  # too few days: no line
    }
    text = _risk_measures_text(rm)
    assert text.count("\n") == 1 and "daily" not in text
    assert "intraday risk (120 changes, CNY): historical 95% VaR 150 / CVaR 210" in text
    assert "student_t 95% VaR 160 / CVaR 240; historical 99% VaR 260 / CVaR 300" in text
    assert _risk_measures_text({}) == ""
