"""DailyTrain refuses what it cannot run before touching any data (the whole loop runs in
tests/e2e/test_daily_train_cli.py through `ghtrader serve`)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ghtrader.adapters.memory import InMemoryModelRegistry
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.research.daily_train import DailyTrain, DailyTrainRequest
from ghtrader.application.research.promotion import ModelPromotion
from ghtrader.domain.calendar import TradingCalendar
from tests.fakes.providers import FixedCalendarSource
from tests.fakes.system import FakeClock


class _Untouched:
    """Any use case or port the validation must not reach."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"reached {name}")

    def __call__(self, *a: Any, **k: Any) -> Any:
        raise AssertionError("called")


def _daily() -> DailyTrain:
    clock = FakeClock(now=1_767_225_600_000_000_000 + 30 * 86_400_000_000_000)  # 2026-01-31
    u: Any = _Untouched()
    return DailyTrain(
        update=u, build_schedule=u, build_main_l5=u, build_dataset=u, train=u, backtest=u,
        promotion=ModelPromotion(registry=InMemoryModelRegistry(), clock=clock), frames=u, artifacts=u, runtime=u,
        families=u, calendar=FixedCalendarSource(TradingCalendar(())), clock=clock,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (DailyTrainRequest(symbol="SHFE.cu2605"), "main_l5 alias"),
        (DailyTrainRequest(test_days=1), "test_days"),
        (DailyTrainRequest(horizon=0), "horizon"),
        (DailyTrainRequest(end_day=date(2026, 3, 2)), "future"),
        (DailyTrainRequest(start_day=date(2026, 1, 20), end_day=date(2026, 1, 10)), "after end_day"),
        (
            DailyTrainRequest(start_day=date(2026, 1, 12), end_day=date(2026, 1, 16), refresh=False, build=False),
            "needs at least 6",
        ),
    ],
)
def test_refuses_before_any_work(request_: DailyTrainRequest, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        _daily()(request_)
