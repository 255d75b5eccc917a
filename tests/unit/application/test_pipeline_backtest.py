"""The research stage's held-out backtest: the winner trains without the last days (and the
policy-fit day before them), and is backtested on those days; the CLI prints the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

from ghtrader.application.errors import FailedPrecondition
from ghtrader.application.pipeline import RunPipeline, RunPipelineRequest, VarietyDataset
from ghtrader.application.reporting import to_jsonable
from ghtrader.domain.calendar import TradingCalendar
from ghtrader.interfaces.cli.commands.pipeline import format_pipeline
from ghtrader.interfaces.client.views import RunResultView
from tests.fakes.system import FakeClock

START, END = date(2026, 11, 2), date(2026, 11, 13)  # ten weekdays, no holidays in the fake calendar
SUMMARY = {"pnl_gross": 1200.0, "fees": 200.0, "pnl_net": 1000.0, "fills": 8.0, "round_trips": 4.0, "sharpe": 1.5}


class Calendar:
    def load(self) -> TradingCalendar:
        return TradingCalendar(())


@dataclass
class Recorder:
    calls: list[Any] = field(default_factory=list)
    fail: bool = False

    def compare(self, request: Any, progress: Any) -> Any:
        self.calls.append(("compare", request))
        table = {"log_loss": {"lightgbm": {"mean": 0.9}, "tcn": {"mean": 1.0}}}
        return SimpleNamespace(table=table, report_paths={}, notes=[])

    def train(self, request: Any, progress: Any) -> Any:
        self.calls.append(("train", request))
        return SimpleNamespace(entry=SimpleNamespace(model_id="m", version="3"), artifact_dir="/a")

    def backtest(self, request: Any, progress: Any) -> Any:
        self.calls.append(("backtest", request))
        if self.fail:
            raise FailedPrecondition("no ticks")
        return SimpleNamespace(
            fit_days=[date(2026, 11, 11)], execution="aggressive", queue_model="prob_log", policy={"trades": True},
            summary=SUMMARY, by_session={"day": {"pnl_net": 600.0}, "night": {"pnl_net": 400.0}},
            by_regime={"low_vol": {"pnl_net": 1000.0}}, elapsed_s=0.5, report_paths={"html_path": "/r.html"}, notes=[],
        )  # fmt: skip


def _pipeline(rec: Recorder, with_backtest: bool = True) -> RunPipeline:
    none: Any = None
    return RunPipeline(
        download=none, verify=none, audit=none, build_schedule=none, build_main_l5=none, build_dataset=none,
        compare=rec.compare, train=rec.train, backtest=rec.backtest if with_backtest else None,  # type: ignore[arg-type]
        provider=none, ticks=none, calendar=Calendar(), clock=FakeClock(),  # type: ignore[arg-type]
    )  # fmt: skip


DATA = VarietyDataset("SHFE.cu", "KQ.m@SHFE.cu", "h", [], 10, 1, [], 10, 1, 10, 1, 10, 1, 1)


def _research(rec: Recorder, with_backtest: bool = True, **kw: Any) -> Any:
    req = RunPipelineRequest(varieties=("SHFE.cu",), **kw)
    return _pipeline(rec, with_backtest)._research(req, DATA, START, END, lambda label: lambda d, t, m: None)


def test_winner_trains_without_the_held_out_and_policy_fit_days_and_is_backtested_on_them() -> None:
    rec = Recorder()
    out = _research(rec)
    compare, train, backtest = (c[1] for c in rec.calls)
    assert (compare.base.start_day, compare.base.end_day) == (START, END)  # the compare is unchanged
    assert train.family == "lightgbm" and (train.start_day, train.end_day) == (START, date(2026, 11, 10))
    assert (backtest.model_id, backtest.version, backtest.symbol) == ("m", "3", "KQ.m@SHFE.cu")
    assert (backtest.start_day, backtest.end_day, backtest.policy_fit_days) == (date(2026, 11, 12), END, 1)
    assert out.train_days == (START, date(2026, 11, 10)) and out.backtest["summary"] == SUMMARY


def test_no_backtest_trains_on_the_whole_window() -> None:
    rec = Recorder()
    out = _research(rec, research_backtest_days=0)
    assert [c[0] for c in rec.calls] == ["compare", "train"] and rec.calls[1][1].end_day == END
    assert out.backtest is None
    rec = Recorder()
    assert _research(rec, with_backtest=False).backtest is None and rec.calls[1][1].end_day == END


def test_a_failed_backtest_leaves_the_research_result() -> None:
    out = _research(Recorder(fail=True))
    assert out.model_id == "m" and out.backtest == {"days": [date(2026, 11, 12), END], "error": "no ticks"}


def test_run_prints_the_held_out_backtest() -> None:
    research = to_jsonable(_research(Recorder()))
    result = {
        "start_day": "2026-11-02", "end_day": "2026-11-13", "varieties": [], "datasets": [], "notes": [],
        "coverage": {"contracts": []}, "audit": {"ok": True, "checks": {}, "findings": []}, "stages_s": {},
        "duration_s": 1.0, "failed_conditions": [], "stages_completed": [], "research": research,
    }  # fmt: skip
    text = format_pipeline(RunResultView(ok=True, summary="done", result=result, report_path=""))
    assert "Held-out backtest of m v3 (trained 2026-11-02..2026-11-10; policy fitted on 2026-11-11" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("pnl_net"))
    assert line.split()[1:] == ["1,000", "600", "400", "1,000"], line
    assert "Backtest report: /r.html" in text


def test_the_winner_goes_through_the_promotion_gate_and_run_prints_it() -> None:
    from ghtrader.adapters.memory import InMemoryModelRegistry
    from ghtrader.application.ports.models import RegistryEntry
    from ghtrader.application.research.promotion import ModelPromotion

    registry = InMemoryModelRegistry()
    registry.register(RegistryEntry("m", "3", "lightgbm", "development", "/a", "h", {}))
    rec = Recorder()
    table = {
        "log_loss": {"lightgbm": {"mean": 0.9}, "tcn": {"mean": 1.0}},
        "macro_f1": {"lightgbm": {"mean": 0.28}},
        "info_captured": {"lightgbm": {"mean": 0.4}},
        "ece": {"lightgbm": {"mean": 0.02}},
        "latency_p99_ms": {"lightgbm": {"mean": 0.05}},
    }
    rec.compare = lambda request, progress: SimpleNamespace(table=table, report_paths={}, notes=[])  # type: ignore[method-assign]
    pipeline = _pipeline(rec)
    pipeline._promotion = ModelPromotion(registry=registry, clock=FakeClock())
    req = RunPipelineRequest(varieties=("SHFE.cu",))
    out = pipeline._research(req, DATA, START, END, lambda label: lambda d, t, m: None)
    p = out.promotion
    assert p is not None and p["promoted"] is True and p["production_version"] == "3"
    assert p["metrics"]["net_sharpe"] == 1.5 and p["metrics"]["latency_us"] == 50.0  # the held-out backtest's Sharpe
    assert registry.history("m")[-1].actor == "make-run"

    result = {
        "start_day": "2026-11-02", "end_day": "2026-11-13", "varieties": [], "datasets": [], "notes": [],
        "coverage": {"contracts": []}, "audit": {"ok": True, "checks": {}, "findings": []}, "stages_s": {},
        "duration_s": 1.0, "failed_conditions": [], "stages_completed": [], "research": to_jsonable(out),
    }  # fmt: skip
    text = format_pipeline(RunResultView(ok=True, summary="done", result=result, report_path=""))
    assert "Promotion: m v3 promoted to production; production is v3" in text and "info_captured" in text

    # a failing promotion (here: the same version again) is reported, the research result stands
    out = pipeline._research(req, DATA, START, END, lambda label: lambda d, t, m: None)
    assert out.model_id == "m" and out.promotion == {"error": "FailedPrecondition: m v3 is already in production"}
