"""RunPipeline on the in-memory world: contract choice from the provider's OI, data gaps as
no-data days, a failing stage recorded without swallowing the rest, argument validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from ghtrader.adapters.memory import InMemoryDatasetStore, InMemoryScheduleStore
from ghtrader.application.datasets.build import (
    BuildDatasetRequest,
    BuildDatasetResult,
    KindBuildResult,
)
from ghtrader.application.datasets.main_l5 import BuildMainL5
from ghtrader.application.datasets.schedule import BuildMainSchedule
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.pipeline import RunPipeline, RunPipelineRequest
from ghtrader.interfaces.cli.commands.pipeline import format_pipeline
from ghtrader.interfaces.client.views import RunResultView
from ghtrader.interfaces.grpc.servicers.pipeline import result_payload, summary_line
from tests.unit.application.world import TODAY, World, contract

A, B, C, D = "SHFE.cu2411", "SHFE.cu2412", "SHFE.cu2501", "SHFE.cu2502"
WINDOW = [date(2024, 9, 30), date(2024, 10, 8), date(2024, 10, 9), date(2024, 10, 10), TODAY]
GAP = date(2024, 10, 9)


@dataclass
class FeatureBuildStub:
    """BuildDataset stand-in: one feature day per stored main_l5 day (factors are tested elsewhere)."""

    world: World
    calls: list[BuildDatasetRequest] = field(default_factory=list)

    def __call__(self, request: BuildDatasetRequest, progress: object = None) -> BuildDatasetResult:
        self.calls.append(request)
        days = [m.trading_day for m in self.world.index.manifests(request.symbol, "main_l5")]
        kind = KindBuildResult("features", "h", "b", ["f1"], days, [], 0, 10 * len(days))
        return BuildDatasetResult(request.symbol, "main_l5", len(days), 1, {"features": kind}, None, 0.0)


class FailingSchedule:
    def __call__(self, request: object, progress: object = None) -> object:
        raise FailedPrecondition("the schedule store is read-only")


def _world(world: World, *, gaps: tuple[tuple[str, date], ...] = ()) -> World:
    """Four cu contracts with ticks on every window day except ``gaps``; the provider's OI
    ranks A > B > C > D on every day, gap days included."""
    for sym, first, last in (
        (A, date(2023, 11, 16), date(2024, 11, 15)),
        (B, date(2023, 12, 18), date(2024, 12, 16)),
        (C, date(2024, 1, 16), date(2025, 1, 15)),
        (D, date(2024, 2, 19), date(2025, 2, 17)),
    ):
        world.provider.add_contract(contract(sym, first, last))
    lookback = world.cal.trading_days(date(2024, 6, 1), TODAY)
    for rank, sym in enumerate((A, B, C, D)):
        for day in lookback:
            world.provider.set_open_interest(sym, day, 200_000.0 - 50_000.0 * rank)
    for sym in (A, B, C, D):
        for day in WINDOW:
            if (sym, day) not in gaps:
                world.fill(sym, day, day)
    return world


def _pipeline(world: World, *, schedule: object | None = None) -> tuple[RunPipeline, FeatureBuildStub]:
    schedules, datasets = InMemoryScheduleStore(), InMemoryDatasetStore()
    features = FeatureBuildStub(world)
    pipeline = RunPipeline(
        download=world.download(),
        verify=world.verify(),
        audit=world.audit(),
        build_schedule=schedule
        or BuildMainSchedule(  # type: ignore[arg-type]
            ticks=world.ticks,
            index=world.index,
            schedules=schedules,
            calendar=world.calendar_source,
            clock=world.clock,
            provider=world.provider,
        ),
        build_main_l5=BuildMainL5(
            ticks=world.ticks, index=world.index, schedules=schedules, datasets=datasets, clock=world.clock
        ),
        build_dataset=features,  # type: ignore[arg-type]
        compare=None,
        train=None,
        provider=world.provider,
        ticks=world.ticks,
        calendar=world.calendar_source,
        clock=world.clock,
    )
    return pipeline, features


REQUEST = RunPipelineRequest(varieties=("SHFE.cu",), trading_days=5, contracts_per_variety=2, research_families=())


def test_main_with_gaps_is_chosen_and_its_gap_days_are_no_data_days(world: World) -> None:
    # A, the main, has no ticks on a mid-window day AND on the end day: before, the end-day
    # probe ranked it last (OI 0) and the run dropped it; the gap day made the run exit 1.
    _world(world, gaps=((A, GAP), (A, TODAY)))
    pipeline, _ = _pipeline(world)
    r = pipeline(REQUEST)
    assert r.start_day == WINDOW[0] and r.end_day == TODAY and r.trading_days == 5
    (ingest,) = r.varieties
    assert ingest.contracts == [A, B] and ingest.main_on_start == A and ingest.main_on_end == A
    assert ingest.eod_open_interest[A] == 200_000.0  # the provider's OI, although A has no ticks that day
    (ds,) = r.datasets
    assert ds.segments == [(A, WINDOW[0].isoformat(), TODAY.isoformat())]  # no segment from a gap
    assert [g["trading_day"] for g in ds.main_l5_no_data_days] == [GAP.isoformat(), TODAY.isoformat()]
    assert all(A in g["reason"] for g in ds.main_l5_no_data_days)
    assert ds.main_l5_days == 3 and ds.feature_days == 3 and ds.main_l5_missing_days == []
    assert [n.trading_day for n in world.index.no_data_days(ds.symbol, "main_l5")] == [GAP, TODAY]
    assert r.stage_errors == [] and r.failed_conditions == [] and r.ok
    assert r.audit is not None and r.audit.ok


def test_a_failing_stage_is_named_and_later_independent_stages_still_run(world: World) -> None:
    _world(world)
    pipeline, features = _pipeline(world, schedule=FailingSchedule())
    r = pipeline(REQUEST)
    assert not r.ok
    assert [(e.stage, e.error) for e in r.stage_errors] == [("schedule SHFE.cu", "FailedPrecondition")]
    assert [(c.name, c.subject) for c in r.failed_conditions] == [("stage_failed", "schedule SHFE.cu")]
    assert r.stages_completed == ["ingest SHFE.cu", "verify", "audit"]  # main_l5 and features depend on it
    assert features.calls == [] and r.datasets == []
    assert r.audit is not None and r.audit.ok and r.coverage is not None and r.coverage.missing == 0

    # The summary and the CLI text name the failed condition and the stage's error.
    payload = result_payload(r)
    assert payload["ok"] is False
    assert payload["failed_conditions"] == [
        {
            "name": "stage_failed",
            "subject": "schedule SHFE.cu",
            "detail": "FailedPrecondition: the schedule store is read-only",
        },
    ]
    assert "FAILED: stage_failed (schedule SHFE.cu)" in summary_line(r)
    text = format_pipeline(RunResultView(r.ok, summary_line(r), "", payload))
    assert "FAILED stage_failed [schedule SHFE.cu]: FailedPrecondition: the schedule store is read-only" in text
    assert "completed stages: ingest SHFE.cu, verify, audit" in text


def test_a_provider_outage_is_a_named_failed_stage_and_the_audit_still_runs(world: World) -> None:
    _world(world)
    pipeline, _ = _pipeline(world)
    world.provider.fail_after = 7  # the provider goes away in the middle of the window download
    r = pipeline(REQUEST)
    assert not r.ok
    assert [(e.stage, e.error) for e in r.stage_errors] == [("ingest SHFE.cu", "Unavailable")]
    assert [c.name for c in r.failed_conditions] == ["stage_failed"]
    assert r.stages_completed == ["audit"]


def test_days_that_could_be_downloaded_but_are_missing_fail_the_run_by_name(world: World) -> None:
    _world(world)
    pipeline, _ = _pipeline(world)
    real_verify = world.verify()

    def verify_after_losing_a_day(request, progress=None):  # type: ignore[no-untyped-def]
        world.index.delete_manifests(A, "raw", [GAP])  # a committed day vanished: not a no-data day
        return real_verify(request, progress) if progress else real_verify(request)

    pipeline._verify = verify_after_losing_a_day  # type: ignore[assignment]
    r = pipeline(REQUEST)
    assert not r.ok and r.stage_errors == []
    assert [(c.name, c.subject) for c in r.failed_conditions] == [
        ("coverage_missing_days", A),
        ("main_l5_missing_days", "KQ.m@SHFE.cu"),
        ("audit_errors", "index"),  # the audit sees rows without their day manifest
    ]
    assert r.datasets[0].main_l5_missing_days == [GAP] and r.datasets[0].segments == [(A, "2024-09-30", "2024-10-11")]


@pytest.mark.parametrize(
    ("request_", "names"),
    [
        (RunPipelineRequest(trading_days=0), "trading_days"),
        (RunPipelineRequest(trading_days=-3), "trading_days"),
        (RunPipelineRequest(trading_days=2001), "trading_days 2001"),
        (RunPipelineRequest(varieties=("SHFE.cu",), trading_days=300), "before the memory provider's first"),
        (RunPipelineRequest(end_day=date(2024, 10, 14)), "end_day 2024-10-14 is in the future"),
        (RunPipelineRequest(end_day=date(2024, 10, 5)), "end_day 2024-10-05 is not a trading day"),
        (
            RunPipelineRequest(start_day=date(2024, 10, 10), end_day=date(2024, 10, 9)),
            "start_day 2024-10-10 is after end_day",
        ),
        (RunPipelineRequest(contracts_per_variety=0), "contracts_per_variety"),
    ],
)
def test_bad_arguments_are_invalid_and_name_the_argument(
    world: World, request_: RunPipelineRequest, names: str
) -> None:
    _world(world)
    pipeline, _ = _pipeline(world)
    with pytest.raises(InvalidArgument, match=names):
        pipeline(request_)
    assert world.provider.calls == []  # nothing was downloaded


def test_start_day_sets_the_window(world: World) -> None:
    _world(world)
    pipeline, _ = _pipeline(world)
    r = pipeline(
        RunPipelineRequest(
            varieties=("SHFE.cu",), start_day=date(2024, 10, 8), contracts_per_variety=1, research_families=()
        )
    )
    assert (r.start_day, r.end_day, r.trading_days) == (date(2024, 10, 8), TODAY, 4) and r.ok


def test_the_winner_is_the_family_with_the_lowest_log_loss() -> None:
    from ghtrader.application.pipeline import choose_winner

    table = {
        "log_loss": {"lightgbm": {"mean": 0.81}, "tcn": {"mean": 0.79}, "logistic": {"mean": float("nan")}},
        "macro_f1": {"lightgbm": {"mean": 0.45}, "tcn": {"mean": 0.38}},
    }
    assert choose_winner(("lightgbm", "tcn", "logistic"), table) == "tcn"
    assert choose_winner(("logistic", "lightgbm"), table) == "lightgbm"  # NaN ranks last
    assert choose_winner(("a", "b"), {}) == "a"  # nothing known: the first listed
