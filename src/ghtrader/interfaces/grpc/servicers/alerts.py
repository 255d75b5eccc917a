"""AlertService: list and watch stored anomaly events, scan stored ticks for them (a job)."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc

from ghtrader.application.alerts import ListAnomalies, ScanAnomalies, ScanRequest
from ghtrader.application.alerts_drift import DriftScanRequest, ScanModelDrift
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.alerts import AnomalyFilter, StoredAnomaly
from ghtrader.application.reporting import to_jsonable
from ghtrader.domain.anomaly import Severity
from ghtrader.interfaces.grpc.jobs import InThreadLauncher, JobLauncher, JobSpec, Stop
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.interfaces.grpc.servicers.data import optional_field, parse_day
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.v1 import alerts_pb2, alerts_pb2_grpc, runs_pb2

__all__ = ["AlertServicer", "AlertUseCases", "alert_message", "alerts_service"]

_TO_PROTO = {
    Severity.INFO: alerts_pb2.ALERT_SEVERITY_INFO,
    Severity.WARNING: alerts_pb2.ALERT_SEVERITY_WARNING,
    Severity.CRITICAL: alerts_pb2.ALERT_SEVERITY_CRITICAL,
}
_FROM_PROTO = {v: k for k, v in _TO_PROTO.items()}


@dataclass(frozen=True)
class AlertUseCases:
    scan: Callable[[], ScanAnomalies]
    list: Callable[[], ListAnomalies]
    drift: Callable[[], ScanModelDrift] | None = None


def alert_message(row: StoredAnomaly) -> alerts_pb2.AlertEvent:
    e = row.event
    msg = alerts_pb2.AlertEvent(
        seq=row.seq, event_id=e.event_id, datetime_ns=e.datetime_ns, anomaly_type=e.anomaly_type,
        severity=_TO_PROTO[e.severity], symbol=e.symbol, details_json=e.details_json(),
        detection_method=e.detection_method, created_ns=row.created_ns,
    )  # fmt: skip
    if math.isfinite(e.drift_score):
        msg.drift_score = e.drift_score
    return msg


def _severity(value: int) -> Severity | None:
    if value == alerts_pb2.ALERT_SEVERITY_UNSPECIFIED:
        return None
    if value not in _FROM_PROTO:
        raise InvalidArgument(f"unknown severity {value}")
    return _FROM_PROTO[value]


class AlertServicer(alerts_pb2_grpc.AlertServiceServicer):
    def __init__(self, use_cases: AlertUseCases, launcher: JobLauncher | None = None) -> None:
        self._uc = use_cases
        self._launcher = launcher or InThreadLauncher()
        self._specs = {s.command: s for s in self.job_specs()}

    def job_specs(self) -> tuple[JobSpec, ...]:
        return (JobSpec("ScanAnomalies", alerts_pb2.ScanAnomaliesRequest, self._scan_work),)

    def ListAlerts(
        self, request: alerts_pb2.ListAlertsRequest, context: grpc.ServicerContext
    ) -> alerts_pb2.ListAlertsResponse:
        limit = optional_field(request, "limit")
        rows = self._uc.list()(
            AnomalyFilter(
                min_severity=_severity(request.min_severity), anomaly_type=request.anomaly_type,
                symbol=request.symbol, since_ns=optional_field(request, "since_ns"),
                limit=200 if limit is None else int(limit),
            )
        )  # fmt: skip
        counts = Counter(r.event.severity.name for r in rows)
        return alerts_pb2.ListAlertsResponse(events=[alert_message(r) for r in rows], counts_by_severity=dict(counts))

    def WatchAlerts(
        self, request: alerts_pb2.WatchAlertsRequest, context: grpc.ServicerContext
    ) -> Iterator[alerts_pb2.AlertEvent]:
        poll = optional_field(request, "poll_s")
        poll_s = 1.0 if poll is None else float(poll)
        if not (math.isfinite(poll_s) and poll_s >= 0.1):
            raise InvalidArgument(f"poll_s must be >= 0.1, got {poll_s}")
        severity = _severity(request.min_severity)
        listing = self._uc.list()
        cursor = optional_field(request, "after_seq")
        if cursor is None:  # from now on: start after the newest stored row
            cursor = listing.latest_seq()
        while context.is_active():
            rows = listing(AnomalyFilter(min_severity=None, symbol=request.symbol, after_seq=cursor, limit=1000))
            for r in rows:
                cursor = max(cursor, r.seq)
                if severity is None or r.event.severity >= severity:
                    yield alert_message(r)
            if len(rows) < 1000:
                time.sleep(poll_s)

    def ScanAnomalies(
        self, request: alerts_pb2.ScanAnomaliesRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["ScanAnomalies"], request, context)

    def _scan_work(self, request: alerts_pb2.ScanAnomaliesRequest, stop: Stop) -> Work:
        if request.model_id:
            return self._drift_work(request)
        if not request.symbol and not request.run_id:
            raise InvalidArgument("symbol is required (e.g. KQ.m@SHFE.cu or SHFE.cu2612), or run_id")
        days = not request.run_id  # a journal scan reads the whole run
        req = ScanRequest(
            symbol=request.symbol, start_day=parse_day(request.start_day, "start_day", required=days),
            end_day=parse_day(request.end_day, "end_day", required=days), ticks_lake=request.ticks_lake,
            run_id=request.run_id,
        )  # fmt: skip
        scan = self._uc.scan

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = scan()(req, progress)
            return RunOutcome(True, r.summary(), to_jsonable(r))

        return work

    def _drift_work(self, request: alerts_pb2.ScanAnomaliesRequest) -> Work:
        if self._uc.drift is None:
            raise InvalidArgument("this server has no model drift scan wired")
        req = DriftScanRequest(
            model_id=request.model_id, start_day=parse_day(request.start_day, "start_day"),
            end_day=parse_day(request.end_day, "end_day"), version=request.model_version or None,
        )  # fmt: skip
        drift = self._uc.drift

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = drift()(req, progress)
            return RunOutcome(True, r.summary(), to_jsonable(r))

        return work


def alerts_service(use_cases: AlertUseCases, launcher: JobLauncher | None = None) -> ServiceRegistration:
    servicer = AlertServicer(use_cases, launcher)
    return ServiceRegistration(
        service_name=alerts_pb2.DESCRIPTOR.services_by_name["AlertService"].full_name,
        register=lambda server: alerts_pb2_grpc.add_AlertServiceServicer_to_server(servicer, server),
    )
