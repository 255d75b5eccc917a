"""The compare / run model table leads with the model against the Bayes oracle."""

from __future__ import annotations

from ghtrader.interfaces.cli.commands.research import comparison_table


def test_ceiling_metrics_lead_the_model_table() -> None:
    cell = {"mean": 0.5, "std": 0.01, "n": 5}
    table = {
        k: {"a": cell, "b": cell}
        for k in ("accuracy", "zeta", "bayes_log_loss", "log_loss", "info_captured", "policy_net_pnl", "ece")
    }
    table["ece_uncalibrated"] = {"a": cell}  # only one family reports it
    lines = comparison_table(table, ["a", "b"]).splitlines()
    names = [line.split()[0] for line in lines if line.strip()]
    body = [n for n in names if n in table]
    assert body[:6] == ["info_captured", "log_loss", "bayes_log_loss", "ece", "ece_uncalibrated", "policy_net_pnl"]
    assert body[-2:] == ["accuracy", "zeta"]
