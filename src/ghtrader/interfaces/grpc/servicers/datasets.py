"""DatasetService: roll schedule, main_l5 and feature/label builds over gRPC."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from ghtrader.application.datasets.build import BuildDataset, BuildDatasetRequest
from ghtrader.application.datasets.main_l5 import BuildMainL5, BuildMainL5Request
from ghtrader.application.datasets.schedule import (
    BuildMainSchedule,
    BuildMainScheduleRequest,
)
from ghtrader.application.errors import InvalidArgument
from ghtrader.domain.labels import LabelConfig
from ghtrader.interfaces.grpc.jobs import InThreadLauncher, JobLauncher, JobSpec, Stop
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.interfaces.grpc.servicers.data import optional_field, parse_day
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.v1 import datasets_pb2, datasets_pb2_grpc, runs_pb2


@dataclass(frozen=True)
class DatasetUseCases:
    build_main_schedule: Callable[[], BuildMainSchedule]
    build_main_l5: Callable[[], BuildMainL5]
    build_dataset: Callable[[], BuildDataset]


def _ratio(request: Any) -> dict[str, Any]:
    value = optional_field(request, "switch_ratio")
    if value is None:
        return {}
    if not value >= 1.0:
        raise InvalidArgument(
            f"switch_ratio must be >= 1 (a challenger needs that multiple of the main's OI), got {value}"
        )
    return {"switch_ratio": value}


def _main_symbol(variety: str) -> str:
    return f"KQ.m@{variety}"


def _build_locks(request: datasets_pb2.BuildDatasetRequest) -> tuple[str, ...]:
    lake = "main_l5" if request.symbol.startswith("KQ.m@") else "raw"
    return (f"build:symbol={request.symbol},ticks_lake={lake}",)


class DatasetServicer(datasets_pb2_grpc.DatasetServiceServicer):
    def __init__(self, use_cases: DatasetUseCases, launcher: JobLauncher | None = None) -> None:
        self._uc = use_cases
        self._launcher = launcher or InThreadLauncher()
        self._specs = {s.command: s for s in self.job_specs()}

    def job_specs(self) -> tuple[JobSpec, ...]:
        """The long-running methods, as jobs; main-l5 also (re)builds its variety's schedule."""
        return (
            JobSpec(
                "BuildMainSchedule",
                datasets_pb2.BuildMainScheduleRequest,
                self._build_main_schedule_work,
                lambda r: (f"main_schedule:var={r.variety}",),
            ),
            JobSpec(
                "BuildMainL5",
                datasets_pb2.BuildMainL5Request,
                self._build_main_l5_work,
                lambda r: (f"main_schedule:var={r.variety}", f"main_l5:symbol={_main_symbol(r.variety)}"),
            ),
            JobSpec("BuildDataset", datasets_pb2.BuildDatasetRequest, self._build_dataset_work, _build_locks),
        )

    def BuildMainSchedule(
        self, request: datasets_pb2.BuildMainScheduleRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["BuildMainSchedule"], request, context)

    def _build_main_schedule_work(self, request: datasets_pb2.BuildMainScheduleRequest, stop: Stop) -> Work:
        req = BuildMainScheduleRequest(
            variety=request.variety,
            start_day=parse_day(request.start_day, "start_day", required=False),
            end_day=parse_day(request.end_day, "end_day", required=False),
            **_ratio(request),
        )

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.build_main_schedule()(req, progress)
            r.schedule = None  # the rows are in the report; keep the answer small
            summary = (
                f"main-schedule {r.variety}: {r.rows} days {r.first_day}..{r.last_day}, "
                f"{len(r.segments)} segments, hash {r.schedule_hash[:12]}"
                + (" (changed)" if r.changed else " (unchanged)")
            )
            return RunOutcome(r.rows > 0, summary, r, r.report_path)

        return work

    def BuildMainL5(
        self, request: datasets_pb2.BuildMainL5Request, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["BuildMainL5"], request, context)

    def _build_main_l5_work(self, request: datasets_pb2.BuildMainL5Request, stop: Stop) -> Work:
        req = BuildMainL5Request(
            variety=request.variety,
            start_day=parse_day(request.start_day, "start_day", required=False),
            end_day=parse_day(request.end_day, "end_day", required=False),
            force=request.force,
            **_ratio(request),
        )

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.build_main_l5()(req, progress)
            summary = (
                f"main-l5 {r.symbol}: {r.days_scheduled} scheduled days, {r.days_built} built, "
                f"{r.days_unchanged} unchanged, {len(r.missing_days)} missing source, "
                f"{r.rows_written:,} rows in {r.duration_s:.1f}s"
            )
            return RunOutcome(not r.missing_days, summary, r, r.report_path)

        return work

    def BuildDataset(
        self, request: datasets_pb2.BuildDatasetRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["BuildDataset"], request, context)

    def _build_dataset_work(self, request: datasets_pb2.BuildDatasetRequest, stop: Stop) -> Work:
        label_fields: dict[str, Any] = {}
        if request.horizons:
            label_fields["direction_horizons"] = tuple(int(h) for h in request.horizons)
        if request.HasField("threshold_ticks"):
            label_fields["k"] = request.threshold_ticks
        try:
            labels = LabelConfig(**label_fields)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"bad label settings: {exc}") from None
        extra: dict[str, Any] = {"kinds": tuple(request.kinds)} if request.kinds else {}
        req = BuildDatasetRequest(
            symbol=request.symbol,
            start_day=parse_day(request.start_day, "start_day", required=False),
            end_day=parse_day(request.end_day, "end_day", required=False),
            factors=tuple(request.factors) or None,
            labels=labels,
            overwrite=request.overwrite,
            **extra,
        )

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.build_dataset()(req, progress)
            kinds = ", ".join(
                f"{k}: {len(v.days_written)} days written, {v.days_up_to_date} up to date, {len(v.columns)} columns"
                for k, v in r.kinds.items()
            )
            summary = f"build {r.symbol} ({r.ticks_lake}): {kinds} in {r.duration_s:.1f}s"
            return RunOutcome(True, summary, r, r.report_path)

        return work


def dataset_service(use_cases: DatasetUseCases, launcher: JobLauncher | None = None) -> ServiceRegistration:
    servicer = DatasetServicer(use_cases, launcher)
    return ServiceRegistration(
        service_name=datasets_pb2.DESCRIPTOR.services_by_name["DatasetService"].full_name,
        register=lambda server: datasets_pb2_grpc.add_DatasetServiceServicer_to_server(servicer, server),
    )
