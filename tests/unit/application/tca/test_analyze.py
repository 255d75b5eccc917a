"""AnalyzeTca over a run whose orders went through the micro-sim venue: the journal as the runner
writes it, ticks from a tick store, labels / record in the TCA store, the report's figures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.filesystem.trading_runs import FilesystemTradingRunStore
from ghtrader.adapters.memory.tca_store import InMemoryTcaStore
from ghtrader.adapters.memory.tick_store import InMemoryTickStore
from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter
from ghtrader.adapters.simulated.execution import SimulatedExecutionProvider
from ghtrader.application.errors import FailedPrecondition, NotFound
from ghtrader.application.ports.stores import TickBatch
from ghtrader.application.tca import AnalyzeTca
from ghtrader.application.trading.journal import order_record
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.microsim import codes
from ghtrader.domain.ticks import empty_ticks, row_hash
from ghtrader.domain.trading.orders import OrderRequest

SYMBOL = "SHFE.cu2612"
TICK, MULT = 10.0, 5.0
T0 = int(datetime(2026, 11, 23, 2, 0, tzinfo=UTC).timestamp() * 1e9)  # 10:00 Beijing, a Monday


def _ticks(n: int = 120) -> np.ndarray:
    rng = np.random.default_rng(7)
    t = empty_ticks(n)
    t["datetime_ns"] = T0 + np.arange(n, dtype=np.int64) * 1_000_000_000
    bid = 70000.0 + TICK * np.cumsum(rng.choice([-1, 0, 0, 1], n))
    t["bid_price1"], t["ask_price1"] = bid, bid + TICK
    t["bid_volume1"], t["ask_volume1"] = 5.0, 5.0
    traded = rng.integers(1, 6, n).astype(np.float64)
    t["volume"] = 1000.0 + np.cumsum(traded)
    t["amount"] = np.cumsum(traded * (bid + TICK / 2) * MULT)
    t["last_price"] = bid
    return t


def _run(tmp_path: Path) -> tuple[FilesystemTradingRunStore, InMemoryTickStore, np.ndarray]:
    ticks = _ticks()
    cal = TradingCalendar(())
    store = InMemoryTickStore()
    day = np.array([np.datetime64(cal.trading_day_of(int(x)), "D") for x in ticks["datetime_ns"]])
    store.write_ticks(TickBatch(SYMBOL, "raw", ticks, day, row_hash(ticks)))
    runs = FilesystemTradingRunStore(tmp_path / "trading")
    runs.create("run-1", {"mode": "sim"})
    venue = SimulatedExecutionProvider(calendar=cal)
    plan = {  # tick index -> order: aggressive buys and sells, and a passive bid far below that never fills
        10: OrderRequest(SYMBOL, codes.BUY, 2, float(ticks["ask_price1"][10]), codes.FAK),
        40: OrderRequest(SYMBOL, codes.SELL, 2, float(ticks["bid_price1"][40]), codes.FAK, codes.CLOSETODAY),
        60: OrderRequest(SYMBOL, codes.BUY, 3, float(ticks["bid_price1"][60]) - 200 * TICK, codes.LIMIT),
        80: OrderRequest(SYMBOL, codes.SELL, 1, float(ticks["bid_price1"][80]), codes.FAK),
    }
    for i, tick in enumerate(ticks):
        ns = int(tick["datetime_ns"])
        for ev in venue.on_tick(SYMBOL, tick):
            rec = order_record(ev.order)
            if ev.kind == "trade_fill":
                runs.append_event(
                    "run-1",
                    {
                        "kind": "trade_fill",
                        "time_ns": ev.time_ns,
                        "order": rec,
                        "fill_qty": ev.fill_qty,
                        "fill_price": ev.fill_price,
                        "fee": ev.fee,
                    },
                )
            elif not ev.order.alive:
                runs.append_event("run-1", {"kind": "order_done", "time_ns": ev.time_ns, "order": rec})
        if i in plan:
            state = venue.submit(plan[i], ns)
            runs.append_event("run-1", {"kind": "order_new", "time_ns": ns, "order": order_record(state)})
    runs.append_event("run-1", {"kind": "run_finished", "time_ns": int(ticks["datetime_ns"][-1])})
    return runs, store, ticks


def test_a_sim_runs_orders_are_attributed_and_stored(tmp_path: Path) -> None:
    runs, ticks_store, ticks = _run(tmp_path)
    tca_store = InMemoryTcaStore()
    use_case = AnalyzeTca(
        runs=runs, ticks=ticks_store, store=tca_store,
        writer_for=lambda run_id: MatplotlibBenchmarkReportWriter(tmp_path / "trading" / run_id, "tca"),
    )  # fmt: skip
    report = use_case.run("run-1")
    labels = report.labels
    assert [x.order_id for x in labels] == ["sim-0", "sim-1", "sim-2", "sim-3"]
    first = labels[0]
    mid10 = (ticks["bid_price1"][10] + ticks["ask_price1"][10]) / 2
    assert first.arrival_price == mid10 and first.filled_qty == 2 and first.side == 1
    # bought at the ask: the half-spread on 2 lots, no timing, the impact model's share
    assert first.execution_price == ticks["ask_price1"][10] and first.slippage_ticks == 0.5
    assert first.spread_cost == pytest.approx(0.5 * 2 * TICK * MULT)
    assert first.spread_cost + first.impact_cost + first.timing_cost == pytest.approx(first.shortfall)
    passive = labels[2]  # nothing filled: all of its shortfall is opportunity cost at the end mid
    assert passive.filled_qty == 0 and passive.shortfall == passive.opportunity_cost
    t = report.totals_ticks
    assert t["spread_ticks"] + t["impact_ticks"] + t["timing_ticks"] + t["opportunity_ticks"] == t["shortfall_ticks"]
    assert report.totals["fees"] > 0 and report.impact_source in ("none", "this run")
    # stored: labels and the run's record (4 fills: too few to be a calibration for others)
    assert [x.order_id for x in tca_store.labels("run-1")] == ["sim-0", "sim-1", "sim-2", "sim-3"]
    record = tca_store.record("run-1")
    assert record is not None and record.shortfall == pytest.approx(report.totals["shortfall"])
    assert record.variety == "cu" and record.impact_n_obs == 3 and tca_store.latest_impact("cu", 10) is None
    # the report in the run's tca/ folder: JSON, HTML and both figures
    paths = report.report_paths
    assert paths is not None and Path(paths["json_path"]).parent == tmp_path / "trading" / "run-1" / "tca"
    assert set(paths["figure_paths"]) == {"cost_components_per_order", "cost_components_cumulative"}
    assert all(Path(p).read_bytes()[:4] == b"\x89PNG" for p in paths["figure_paths"].values())
    assert json.loads(Path(paths["json_path"]).read_text())["totals"]["shortfall"] == pytest.approx(
        report.totals["shortfall"]
    )
    # a rerun replaces the stored rows
    use_case.run("run-1", write_report=False)
    assert len(tca_store.labels("run-1")) == 4


def test_errors_name_what_is_missing(tmp_path: Path) -> None:
    runs = FilesystemTradingRunStore(tmp_path / "trading")
    use_case = AnalyzeTca(runs=runs, ticks=InMemoryTickStore(), store=InMemoryTcaStore())
    with pytest.raises(NotFound):
        use_case.run("nope")
    runs.create("quiet", {})
    with pytest.raises(FailedPrecondition, match="no orders"):
        use_case.run("quiet")
    runs.append_event("quiet", {"kind": "order_new", "time_ns": T0, "order": {
        "order_id": "sim-0", "symbol": SYMBOL, "side": 1, "qty": 1}})  # fmt: skip
    with pytest.raises(FailedPrecondition, match="no raw ticks of SHFE.cu2612"):
        use_case.run("quiet")


def test_pretrade_uses_the_stored_calibration_and_the_ticks(tmp_path: Path) -> None:
    from dataclasses import replace

    from ghtrader.application.ports.tca import TcaRecord
    from ghtrader.application.tca import PreTradeRequest, PreTradeTca

    _, ticks_store, ticks = _run(tmp_path)
    tca_store = InMemoryTcaStore()
    pre = PreTradeTca(ticks=ticks_store, store=tca_store)
    request = PreTradeRequest(SYMBOL, side=1, qty=20, horizon_s=60.0, slices=6)
    none = pre(request)
    assert none.impact_source.startswith("none") and none.costs_ticks["is"]["impact"] == 0.0
    assert none.profile["half_spread_ticks"] == 0.5 and none.profile["ticks"] == ticks.shape[0]
    assert sum(s["lots"] for s in none.slices) == 20 and len(none.slices) == 6
    assert none.liquidity[0] == {"within_ticks": 0.0, "lots": 5.0, "share_of_order": 0.25}
    record = TcaRecord(
        run_id="calib", source="sim_run", symbol=SYMBOL, variety="cu", analyzed_ns=1, orders=30, filled_qty=60,
        spread_cost=0, impact_cost=0, timing_cost=0, opportunity_cost=0, shortfall=0, fees=0,
        slippage_ticks_per_lot=0.6, impact_kind="sqrt", impact_eta=0.5, impact_n_obs=60, impact_r2=0.4,
    )  # fmt: skip
    tca_store.write_record(record)
    got = pre(request)
    assert got.impact_source == "stored calib" and got.impact["eta"] == 0.5
    assert got.costs_ticks["is"]["impact"] > got.costs_ticks["twap"]["impact"] > 0  # front-loaded: bigger slices
    assert got.costs_ticks["is"]["timing"] < got.costs_ticks["twap"]["timing"]
    assert got.costs["twap"]["spread"] == pytest.approx(20 * 0.5 * TICK * MULT)
    with pytest.raises(FailedPrecondition, match="no raw ticks of SHFE.cu2701"):
        pre(replace(request, symbol="SHFE.cu2701"))


def test_a_backtests_replay_records_are_attributed_against_main_l5(tmp_path: Path) -> None:
    from ghtrader.domain.microsim import COMMAND_DTYPE, SimConfig, fee_table, simulate

    ticks = _ticks()
    cal = TradingCalendar(())
    store = InMemoryTickStore()
    day = np.array([np.datetime64(cal.trading_day_of(int(x)), "D") for x in ticks["datetime_ns"]])
    from ghtrader.application.ports.stores import MainL5Provenance

    prov = MainL5Provenance(np.full(ticks.shape[0], SYMBOL, dtype=object), np.zeros(ticks.shape[0], np.int64), "s")
    store.write_ticks(TickBatch("KQ.m@SHFE.cu", "main_l5", ticks, day, row_hash(ticks), prov))
    at = ticks["datetime_ns"]
    commands = np.array(
        [(at[5], codes.FAK, 1, ticks["ask_price1"][5], 2, 0, codes.OPEN),
         (at[30], codes.FAK, -1, ticks["bid_price1"][30], 2, 1, codes.CLOSETODAY)],
        dtype=COMMAND_DTYPE,
    )  # fmt: skip
    result = simulate(ticks, SimConfig(tick=TICK, multiplier=MULT, fees=fee_table("cu")), commands)
    assert result.fills.shape[0] >= 2
    tca_store = InMemoryTcaStore()
    use_case = AnalyzeTca(runs=FilesystemTradingRunStore(tmp_path), ticks=store, store=tca_store)
    report = use_case.backtest("bt-1", "KQ.m@SHFE.cu", result.orders, result.fills)
    assert report.source == "backtest" and [x.order_id for x in report.labels] == ["0", "1"]
    buy, sell = report.labels
    assert buy.arrival_price == (ticks["bid_price1"][5] + ticks["ask_price1"][5]) / 2 and buy.filled_qty == 2
    assert sell.side == -1 and sell.spread_cost == pytest.approx(0.5 * 2 * TICK * MULT)
    t = report.totals_ticks
    assert t["spread_ticks"] + t["impact_ticks"] + t["timing_ticks"] + t["opportunity_ticks"] == t["shortfall_ticks"]
    assert report.totals["fees"] == pytest.approx(float(result.fills["fee"].sum()))
    assert tca_store.record("bt-1") is not None and len(tca_store.labels("bt-1")) == 2

    # the same replay through backtest_model: the backtest runs without a report of its own
    from datetime import date

    from ghtrader.application.research.backtest_report import BacktestReport, BacktestRequest

    asked: list[BacktestRequest] = []

    def run_backtest(request: BacktestRequest) -> BacktestReport:
        asked.append(request)
        return BacktestReport(
            report_id="bt-2", model_id="m", version="1", family="logistic", symbol="KQ.m@SHFE.cu", horizon=10,
            start_day=request.start_day, end_day=request.end_day, fit_days=[], execution="aggressive",
            queue_model="prob_log", policy={}, summary={}, by_session={}, by_regime={}, rows=ticks.shape[0],
            target_changes=2, orders=2, elapsed_s=0.0, result=result,
        )  # fmt: skip

    writer = MatplotlibBenchmarkReportWriter(tmp_path, "tca")
    use_case = AnalyzeTca(runs=FilesystemTradingRunStore(tmp_path), ticks=store, store=tca_store,
                          backtests=run_backtest, backtest_writer=writer)  # fmt: skip
    again = use_case.backtest_model(BacktestRequest("m", date(2026, 11, 23), date(2026, 11, 23)))
    assert len(asked) == 1 and asked[0].write_report is False
    assert again.run_id == "bt-2" and again.totals_ticks == report.totals_ticks
    assert again.report_paths is not None and Path(again.report_paths["json_path"]).parent == tmp_path / "tca"
