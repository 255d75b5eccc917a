"""AnalyzeTca: post-trade cost attribution of a trading run's (or a backtest's) orders.

For each order: the book at its decision tick (arrival mid and half-spread), the mid when it
ended and the market's VWAP in between, from the tick store (raw ticks of the contract it
traded); its fills from the run's journal. The impact model is fitted from the run's own fills
when they are enough (``MIN_FIT_FILLS``), else the latest stored calibration of the variety
(``ghtrader_tca_v2``) is used; the run's fit is stored either way. Results: one execution label
per order (``ghtrader_execution_labels_v2``), one TCA record per run and a report (JSON, PNG
figures, HTML) in the run's ``tca/`` folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.providers import CalendarSource
from ghtrader.application.ports.reports import BenchmarkReportWriter
from ghtrader.application.ports.stores import TickStore
from ghtrader.application.ports.tca import ExecutionLabel, TcaRecord, TcaStore
from ghtrader.application.ports.trading import TradingRunStore
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.application.research.backtest_report import BacktestReport, BacktestRequest
from ghtrader.application.tca.figures import tca_figures, tca_tables
from ghtrader.application.tca.orders import ExecutedOrders, orders_from_events, orders_from_sim_result
from ghtrader.application.tca.report import TcaReport
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import contract_spec
from ghtrader.domain.tca import (
    Attribution,
    Fills,
    ImpactModel,
    Parents,
    asof_index,
    attribute,
    fit_impact,
    impact_observations,
    interval_vwap,
)

__all__ = ["MIN_FIT_FILLS", "AnalyzeTca"]

MIN_FIT_FILLS = 10  # fewer fills than this: the impact model comes from the stored calibration
RAW = "raw"
SOURCES = ("sim_run", "backtest")


class AnalyzeTca:
    """TCA of trading runs and backtests (see the module docstring)."""

    def __init__(
        self,
        *,
        runs: TradingRunStore,
        ticks: TickStore,
        store: TcaStore,
        calendar: CalendarSource | None = None,
        writer_for: Callable[[str], BenchmarkReportWriter] | None = None,
        clock: Clock | None = None,
        backtests: Callable[[BacktestRequest], BacktestReport] | None = None,
        backtest_writer: BenchmarkReportWriter | None = None,
    ) -> None:
        self._runs = runs
        self._ticks = ticks
        self._store = store
        self._calendar = calendar
        self._writer_for = writer_for  # run id -> a writer into that run's tca/ folder
        self._clock = clock
        self._backtests = backtests  # RunBacktest: a backtest replayed to attribute its fills
        self._backtest_writer = backtest_writer  # where a backtest's TCA report goes

    def _cal(self) -> TradingCalendar:
        return self._calendar.load() if self._calendar is not None else TradingCalendar(())

    def _now(self) -> int:
        return self._clock.now_ns() if self._clock is not None else time.time_ns()

    # --- entry points -------------------------------------------------------------------------
    def run(self, run_id: str, *, write_report: bool = True) -> TcaReport:
        """TCA of the trading run ``run_id`` (sim, paper with orders, live)."""
        if not run_id:
            raise InvalidArgument("run_id is required")
        if not self._runs.exists(run_id):
            raise NotFound(f"no trading run {run_id}")
        orders = orders_from_events(self._runs.tail_events(run_id, 0))
        if not len(orders):
            raise FailedPrecondition(f"trading run {run_id} sent no orders: nothing to analyse")
        report = self._analyze(run_id, "sim_run", orders, lake=RAW)
        if write_report:
            self._write(report)
        return report

    def backtest(self, report_id: str, symbol: str, orders: np.ndarray, fills: np.ndarray) -> TcaReport:
        """TCA of a backtest's replay (its ORDER_DTYPE / FILL_DTYPE records on ``symbol``'s
        main_l5 series), stored under ``report_id``."""
        executed = orders_from_sim_result(orders, fills, symbol)
        if not len(executed):
            raise FailedPrecondition(f"backtest {report_id} sent no orders: nothing to analyse")
        return self._analyze(report_id, "backtest", executed, lake="main_l5")

    def backtest_model(self, request: BacktestRequest, *, write_report: bool = True) -> TcaReport:
        """Run the backtest ``request`` describes (no backtest report of its own) and attribute
        its replay's fills; labels and the record are stored under the backtest's report id."""
        if self._backtests is None:
            raise FailedPrecondition("no backtest runner is configured for TCA")
        bt = self._backtests(replace(request, write_report=False))
        if bt.result is None:
            raise FailedPrecondition(f"backtest {bt.report_id} returned no replay records")
        report = self.backtest(bt.report_id, bt.symbol, bt.result.orders, bt.result.fills)
        if write_report and self._backtest_writer is not None:
            self._write(report, self._backtest_writer)
        return report

    # --- the analysis -------------------------------------------------------------------------
    def _book_at(self, orders: ExecutedOrders, lake: str) -> dict[str, np.ndarray]:
        """Per order, from its contract's ticks: arrival bid / ask, end mid, interval VWAP."""
        n = len(orders)
        out = {k: np.full(n, np.nan) for k in ("bid", "ask", "end_mid", "vwap")}
        cal = self._cal()
        for symbol in sorted(set(orders.symbol)):
            idx = np.array([k for k, s in enumerate(orders.symbol) if s == symbol], dtype=np.int64)
            first = cal.trading_day_of(int(orders.send_ns[idx].min()))
            last = cal.trading_day_of(int(orders.end_ns[idx].max()))
            stored = self._ticks.read_ticks(symbol, lake, first - timedelta(days=1), last)
            ticks = stored.ticks
            if ticks.shape[0] == 0:
                raise FailedPrecondition(f"no {lake} ticks of {symbol} in {first}..{last}: cannot price the orders")
            spec = contract_spec(symbol)
            t = ticks["datetime_ns"].astype(np.int64)
            bid, ask = ticks["bid_price1"].astype(np.float64), ticks["ask_price1"].astype(np.float64)
            mid = (bid + ask) / 2.0
            a = asof_index(t, orders.send_ns[idx])
            e = asof_index(t, orders.end_ns[idx])
            ok_a, ok_e = a >= 0, e >= 0
            out["bid"][idx] = np.where(ok_a, bid[np.maximum(a, 0)], np.nan)
            out["ask"][idx] = np.where(ok_a, ask[np.maximum(a, 0)], np.nan)
            out["end_mid"][idx] = np.where(ok_e, mid[np.maximum(e, 0)], np.nan)
            out["vwap"][idx] = interval_vwap(
                t, ticks["volume"], ticks["amount"], orders.send_ns[idx], orders.end_ns[idx], spec.multiplier
            )
        return out

    def _impact(
        self, parents: Parents, fills: Fills, tick: float, variety: str
    ) -> tuple[ImpactModel, ImpactModel, str]:
        """(the model the attribution uses, the run's own fit, where the first came from)."""
        own = fit_impact(*impact_observations(parents, fills, tick))
        if own.n_obs >= MIN_FIT_FILLS:
            return own, own, "this run"
        stored = self._store.latest_impact(variety, MIN_FIT_FILLS)
        if stored is not None:
            model = ImpactModel(stored.impact_kind, stored.impact_eta, stored.impact_n_obs, stored.impact_r2)
            return model, own, f"stored {stored.run_id}"
        return own, own, "this run" if own.n_obs else "none"

    def _analyze(self, run_id: str, source: str, orders: ExecutedOrders, lake: str) -> TcaReport:
        try:
            specs = {contract_spec(s).key for s in orders.symbol}
        except DomainError as exc:
            raise InvalidArgument(str(exc)) from exc
        if len(specs) != 1:
            raise FailedPrecondition(f"run {run_id} traded several varieties ({sorted(specs)}): analyse one at a time")
        spec = contract_spec(orders.symbol[0])
        book = self._book_at(orders, lake)
        known = np.isfinite(book["bid"]) & np.isfinite(book["ask"]) & np.isfinite(book["end_mid"])
        notes = []
        if not known.all():
            notes.append(f"{int((~known).sum())} orders sent before the first stored tick were left out")
        keep = np.flatnonzero(known)
        remap = np.full(len(orders), -1, np.int64)
        remap[keep] = np.arange(keep.shape[0])
        fkeep = remap[orders.fill_parent] >= 0
        parents = Parents(
            side=orders.side[keep], qty=orders.qty[keep], decision_ns=orders.send_ns[keep],
            end_ns=orders.end_ns[keep], arrival_bid=book["bid"][keep], arrival_ask=book["ask"][keep],
            end_mid=book["end_mid"][keep],
        )  # fmt: skip
        fills = Fills(
            parent=remap[orders.fill_parent][fkeep], time_ns=orders.fill_ns[fkeep], qty=orders.fill_qty[fkeep],
            price=orders.fill_price[fkeep], fee=orders.fill_fee[fkeep],
        )  # fmt: skip
        model, own, impact_source = self._impact(parents, fills, spec.price_tick, spec.variety)
        att = attribute(
            parents, fills, tick=spec.price_tick, multiplier=spec.multiplier, impact=model,
            interval_vwaps=book["vwap"][keep],
        )  # fmt: skip
        labels = self._labels(run_id, source, att, [orders.order_id[k] for k in keep], [orders.symbol[k] for k in keep])
        totals = att.totals()
        now = self._now()
        report = TcaReport(
            run_id=run_id, source=source, symbol=orders.symbol[0], variety=spec.variety, tick=spec.price_tick,
            multiplier=spec.multiplier, impact={**model.to_dict(), "fitted_on_this_run": own.to_dict()},
            impact_source=impact_source, totals=totals, totals_ticks=att.totals_ticks(), labels=labels, notes=notes,
        )  # fmt: skip
        self._store.write_labels(run_id, labels)
        self._store.write_record(
            TcaRecord(
                run_id=run_id,
                source=source,
                symbol=report.symbol,
                variety=spec.variety,
                analyzed_ns=now,
                orders=len(labels),
                filled_qty=totals["filled"],
                spread_cost=totals["spread"],
                impact_cost=totals["impact"],
                timing_cost=totals["timing"],
                opportunity_cost=totals["opportunity"],
                shortfall=totals["shortfall"],
                fees=totals["fees"],
                slippage_ticks_per_lot=totals["slippage_ticks_per_lot"],
                impact_kind=own.kind,
                impact_eta=own.eta,
                impact_n_obs=own.n_obs,
                impact_r2=own.r2,
                details={
                    "totals": totals,
                    "totals_ticks": report.totals_ticks,
                    "impact_used": model.to_dict(),
                    "impact_source": impact_source,
                },
            )  # fmt: skip
        )
        return report

    @staticmethod
    def _labels(
        run_id: str, source: str, att: Attribution, order_ids: list[str], symbols: list[str]
    ) -> list[ExecutionLabel]:
        r = att.records
        k = att.tick * att.multiplier
        out = []
        for j in range(r.shape[0]):
            x = r[j]
            out.append(
                ExecutionLabel(
                    run_id=run_id,
                    order_id=order_ids[j],
                    symbol=symbols[j],
                    datetime_ns=int(x["decision_ns"]),
                    side=int(x["side"]),
                    order_qty=float(x["qty"]),
                    filled_qty=float(x["filled"]),
                    arrival_price=float(x["arrival_price"]),
                    execution_price=float(x["exec_vwap"]),
                    slippage_ticks=float(x["slippage_ticks"]),
                    spread_cost=float(x["spread_ticks"]) * k,
                    impact_cost=float(x["impact_ticks"]) * k,
                    timing_cost=float(x["timing_ticks"]) * k,
                    opportunity_cost=float(x["opportunity_ticks"]) * k,
                    shortfall=float(x["shortfall_ticks"]) * k,
                    fees=float(x["fees"]),
                    duration_ns=int(x["end_ns"] - x["decision_ns"]),
                    source=source,
                )  # fmt: skip
            )
        return out

    def _write(self, report: TcaReport, writer: BenchmarkReportWriter | None = None) -> None:
        if writer is None:
            if self._writer_for is None:
                return
            writer = self._writer_for(report.run_id)
        report_id = make_run_id(self._now(), f"tca_{report.run_id}")
        written = writer.write(
            report_id, report.to_payload(), tca_figures(report), tca_tables(report),
            title=f"TCA of {report.source} {report.run_id} ({report.symbol})",
        )  # fmt: skip
        report.report_paths = to_jsonable(written)
