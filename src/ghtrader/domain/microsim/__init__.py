"""Queue-aware micro-simulator: replay SHFE L5 snapshots with order injection (numba kernels).

Trades are inferred from the snapshots' cumulative counters (trades.py), resting orders keep a
queue position under a selectable model (queue_models.py), and the replay (simulator.py) applies
feed / order / cancel latencies, fees by offset (fees.py) and reports fills, positions, equity and
round trips (results.py); counterfactual.py compares two replays of the same snapshots. The
stepper (stepper.py) advances the same kernel one snapshot at a time for sim mode.
"""

from ghtrader.domain.microsim.counterfactual import PolicyStats, ab_markdown, compare_policies, policy_stats
from ghtrader.domain.microsim.fees import DEFAULT_FEES, FeeRate, FeeTable, fee_table
from ghtrader.domain.microsim.latency import Latency
from ghtrader.domain.microsim.queue_models import QUEUE_MODELS, advance_queue, queue_model_code
from ghtrader.domain.microsim.results import (
    EQUITY_DTYPE,
    FILL_DTYPE,
    ORDER_DTYPE,
    ROUND_TRIP_DTYPE,
    SimResult,
)
from ghtrader.domain.microsim.simulator import COMMAND_DTYPE, QuoteStrategy, SimConfig, make_commands, simulate
from ghtrader.domain.microsim.stepper import ReplayStepper
from ghtrader.domain.microsim.trades import infer_trades, split_vwap

__all__ = [
    "COMMAND_DTYPE",
    "DEFAULT_FEES",
    "EQUITY_DTYPE",
    "FILL_DTYPE",
    "ORDER_DTYPE",
    "QUEUE_MODELS",
    "ROUND_TRIP_DTYPE",
    "FeeRate",
    "FeeTable",
    "Latency",
    "PolicyStats",
    "QuoteStrategy",
    "ReplayStepper",
    "SimConfig",
    "SimResult",
    "ab_markdown",
    "advance_queue",
    "compare_policies",
    "fee_table",
    "infer_trades",
    "make_commands",
    "policy_stats",
    "queue_model_code",
    "simulate",
    "split_vwap",
]
