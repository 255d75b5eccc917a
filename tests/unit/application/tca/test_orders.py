"""Orders and fills read from a run's journal."""

from __future__ import annotations

from ghtrader.application.tca.orders import orders_from_events


def _order(oid: str, side: int = 1, qty: int = 2) -> dict:  # type: ignore[type-arg]
    return {"order_id": oid, "symbol": "SHFE.cu2612", "side": side, "qty": qty, "price": 70010.0}


def test_parents_fills_and_ends_from_the_journal() -> None:
    events = [
        {"kind": "order_new", "time_ns": 100, "order": _order("sim-0")},
        {"kind": "risk_refused", "time_ns": 105, "order": {"side": 1, "qty": 9}},  # never sent: not a parent
        {"kind": "trade_fill", "time_ns": 110, "order": _order("sim-0"), "fill_qty": 1, "fill_price": 70010.0,
         "fee": 1.5},
        # a target executor's own order: first seen in its update, then filled
        {"kind": "order_update", "time_ns": 120, "order": _order("sim-1", side=-1, qty=1)},
        {"kind": "trade_fill", "time_ns": 130, "order": _order("sim-1", side=-1, qty=1), "fill_qty": 1,
         "fill_price": 70000.0, "fee": 1.4},
        {"kind": "order_done", "time_ns": 130, "order": _order("sim-1", side=-1, qty=1)},
        {"kind": "run_finished", "time_ns": 500},
    ]  # fmt: skip
    o = orders_from_events(events)
    assert o.order_id == ["sim-0", "sim-1"] and o.side.tolist() == [1, -1] and o.qty.tolist() == [2.0, 1.0]
    assert o.send_ns.tolist() == [100, 120] and o.end_ns.tolist() == [500, 130]  # sim-0 still working at the end
    assert o.fill_parent.tolist() == [0, 1] and o.fill_price.tolist() == [70010.0, 70000.0]
    assert o.fill_fee.tolist() == [1.5, 1.4]
    assert len(orders_from_events([{"kind": "run_finished", "time_ns": 1}])) == 0
