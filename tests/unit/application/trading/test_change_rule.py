"""The change rule (domain/trading/changes.py) is one: the backtest's command plan and the runner's
direct executor send the same orders for every target change while every order fills."""

from __future__ import annotations

import numpy as np

from ghtrader.application.research.backtest_plan import positions_to_commands
from ghtrader.application.trading.executor import DirectExecutor
from ghtrader.domain.microsim.codes import CANCEL, FAK, LIMIT
from ghtrader.domain.trading.orders import Position


def test_the_backtest_plan_and_the_executor_send_the_same_orders_for_each_change() -> None:
    rng = np.random.default_rng(3)
    target = rng.integers(-2, 3, 200)
    bid = 100.0 + rng.integers(0, 5, 200) * 10.0
    ask = bid + 10.0
    for execution, executor in (("aggressive", DirectExecutor("fak", True)),
                                ("passive", DirectExecutor("limit", False))):  # fmt: skip
        cmds = positions_to_commands(target, np.arange(200, dtype=np.int64), bid, ask, execution)
        cmds = cmds[cmds["kind"] != CANCEL]  # the passive plan's cancels: the executor's caller sends those
        planned = [(int(c["time_ns"]), int(c["side"]), int(c["qty"]), float(c["price"]), int(c["kind"]),
                    int(c["offset"])) for c in cmds]  # fmt: skip
        held, sent = 0, []
        for i, t in enumerate(target):
            pos = Position("SHFE.cu2701", max(held, 0), 0, max(-held, 0), 0)  # every fill is today's
            for o in executor.orders(int(t), pos, float(bid[i]), float(ask[i])):
                sent.append((i, o.side, o.qty, o.price, o.kind, o.offset))
            held = int(t)
        assert sent == planned and len(sent) > 50
        assert {k for *_, k, _ in sent} == ({FAK} if execution == "aggressive" else {LIMIT})
