"""DataService: ingest, coverage and integrity use cases over gRPC."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, cast, overload

import grpc

from ghtrader.application.audit import AuditStore, AuditStoreRequest
from ghtrader.application.coverage import (
    BootstrapIndex,
    BootstrapIndexRequest,
    ContractStatus,
    ContractStatusRequest,
    FillMissing,
    FillMissingRequest,
    VerifyCoverage,
    VerifyCoverageRequest,
)
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ingest import (
    DownloadContractRange,
    DownloadContractRangeRequest,
    DownloadTicks,
    DownloadTicksRequest,
    UpdateContracts,
    UpdateContractsRequest,
)
from ghtrader.application.recorder import RecordTicks, RecordTicksRequest
from ghtrader.interfaces.grpc.jobs import InThreadLauncher, JobLauncher, JobSpec, Stop
from ghtrader.interfaces.grpc.server import ServiceRegistration
from ghtrader.interfaces.grpc.streaming import RunOutcome, Work
from ghtrader.v1 import data_pb2, data_pb2_grpc, runs_pb2


@dataclass(frozen=True)
class DataUseCases:
    """Factories of the use cases; each is built on first use so the store starts lazily."""

    download: Callable[[], DownloadTicks]
    download_contract_range: Callable[[], DownloadContractRange]
    update: Callable[[], UpdateContracts]
    record: Callable[[], RecordTicks]
    verify: Callable[[], VerifyCoverage]
    fill_missing: Callable[[], FillMissing]
    bootstrap_index: Callable[[], BootstrapIndex]
    audit: Callable[[], AuditStore]
    contract_status: Callable[[], ContractStatus]


@overload
def parse_day(text: str, field: str, *, required: Literal[True] = True) -> date: ...
@overload
def parse_day(text: str, field: str, *, required: bool) -> date | None: ...
def parse_day(text: str, field: str, *, required: bool = True) -> date | None:
    if not text:
        if required:
            raise InvalidArgument(f"{field} is required (YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(f"{field} {text!r} is not a date: expected YYYY-MM-DD") from None


def optional_field(message: Any, field: str) -> Any:
    """The value of a proto3 ``optional`` field, or None when the caller left it unset.

    Defaults apply only to unset fields: an explicit 0 is passed on (and validated) as given.
    """
    return getattr(message, field) if message.HasField(field) else None


def _chunk(request: Any) -> dict[str, Any]:
    n = optional_field(request, "chunk_days")
    if n is None:
        return {}
    if n < 1:
        raise InvalidArgument(f"chunk_days must be >= 1, got {n}")
    return {"chunk_days": n}


def _multi_summary(verb: str, r: Any) -> str:
    return (
        f"{verb} {r.variety_key}: {len(r.contracts)} contracts, {r.downloaded} days downloaded, "
        f"{r.no_data} no-data, {r.missing} missing, {r.rows_written:,} rows in {r.duration_s:.1f}s"
    ) + (f"; FAILED: {r.unknown_symbols}" if r.unknown_symbols else "")


def variety_lock(variety: str) -> str:
    """``ticks_range:exchange=<EX>,var=<VAR>`` for a variety key such as ``SHFE.cu``."""
    exchange, _, var = variety.rpartition(".")
    return f"ticks_range:exchange={exchange},var={var}"


class DataServicer(data_pb2_grpc.DataServiceServicer):
    def __init__(self, use_cases: DataUseCases, launcher: JobLauncher | None = None) -> None:
        self._uc = use_cases
        self._launcher = launcher or InThreadLauncher()
        self._specs = {s.command: s for s in self.job_specs()}

    def job_specs(self) -> tuple[JobSpec, ...]:
        """The long-running methods, as jobs (TqSdk-heavy: the ones that download or record)."""
        return (
            JobSpec(
                "Download",
                data_pb2.DownloadRequest,
                self._download_work,
                lambda r: (f"ticks:symbol={r.symbol}",),
                tqsdk=True,
            ),
            JobSpec(
                "DownloadContractRange",
                data_pb2.DownloadContractRangeRequest,
                self._download_contract_range_work,
                lambda r: (variety_lock(r.variety),),
                tqsdk=True,
            ),
            JobSpec(
                "Update", data_pb2.UpdateRequest, self._update_work, lambda r: (variety_lock(r.variety),), tqsdk=True
            ),
            JobSpec(
                "Record",
                data_pb2.RecordRequest,
                self._record_work,
                lambda r: tuple(f"ticks:symbol={s}" for s in sorted(set(r.symbols))),
                tqsdk=True,
                until_cancelled=lambda r: not r.HasField("duration_s"),
                cooperative=True,
            ),
            JobSpec("Verify", data_pb2.VerifyRequest, self._verify_work),
            JobSpec(
                "FillMissing",
                data_pb2.FillMissingRequest,
                self._fill_missing_work,
                lambda r: (variety_lock(r.variety),),
                tqsdk=True,
            ),
            JobSpec("BootstrapIndex", data_pb2.BootstrapIndexRequest, self._bootstrap_index_work),
            JobSpec("Audit", data_pb2.AuditRequest, self._audit_work),
        )

    def Download(self, request: data_pb2.DownloadRequest, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Download"], request, context)

    def _download_work(self, request: data_pb2.DownloadRequest, stop: Stop) -> Work:
        req = DownloadTicksRequest(
            symbol=request.symbol,
            start_day=parse_day(request.start_day, "start_day"),
            end_day=parse_day(request.end_day, "end_day"),
            force=request.force,
            **_chunk(request),
        )

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.download()(req, progress)
            summary = (
                f"{r.symbol} {r.start_day}..{r.end_day}: {r.downloaded} days downloaded, "
                f"{r.no_data} no-data, {r.present_before} already present, {r.missing} missing, "
                f"{r.rows_written:,} rows, {r.rejected_total} rejected in {r.duration_s:.1f}s"
            )
            return RunOutcome(r.missing == 0, summary, r, r.report_path)

        return work

    def DownloadContractRange(
        self, request: data_pb2.DownloadContractRangeRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["DownloadContractRange"], request, context)

    def _download_contract_range_work(self, request: data_pb2.DownloadContractRangeRequest, stop: Stop) -> Work:
        req = DownloadContractRangeRequest(
            variety_key=request.variety,
            first_contract=request.first_contract,
            last_contract=request.last_contract,
            start_day=parse_day(request.start_day, "start_day", required=False),
            end_day=parse_day(request.end_day, "end_day", required=False),
            **_chunk(request),
        )

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.download_contract_range()(req, progress)
            return RunOutcome(
                r.missing == 0 and not r.unknown_symbols, _multi_summary("downloaded", r), r, r.report_path
            )

        return work

    def Update(self, request: data_pb2.UpdateRequest, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Update"], request, context)

    def _update_work(self, request: data_pb2.UpdateRequest, stop: Stop) -> Work:
        recent = optional_field(request, "recent_expiry_days")
        extra = {} if recent is None else {"recent_expiry_days": recent}
        req = UpdateContractsRequest(variety_key=request.variety, **extra)

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.update()(req, progress)
            return RunOutcome(r.missing == 0 and not r.unknown_symbols, _multi_summary("updated", r), r, r.report_path)

        return work

    def Record(self, request: data_pb2.RecordRequest, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Record"], request, context)

    def _record_work(self, request: data_pb2.RecordRequest, stop: Stop) -> Work:
        if not request.symbols:
            raise InvalidArgument("record needs at least one symbol")
        duration = optional_field(request, "duration_s")
        if duration is not None and not duration > 0:
            raise InvalidArgument(
                f"duration_s must be > 0 seconds (or unset to record until cancelled), got {duration}"
            )
        req = RecordTicksRequest(symbols=tuple(request.symbols), max_runtime_s=duration)

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.record()(req, should_stop=stop, progress=progress)
            summary = (
                f"recorded {', '.join(r.symbols)}: {r.rows_written:,} rows written, "
                f"{r.duplicates_dropped} duplicates dropped, {r.flushes} flushes in {r.duration_s:.1f}s"
            )
            return RunOutcome(True, summary, r)

        return work

    def Verify(self, request: data_pb2.VerifyRequest, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Verify"], request, context)

    def _verify_work(self, request: data_pb2.VerifyRequest, stop: Stop) -> Work:
        if not request.variety and not request.symbols:
            raise InvalidArgument("verify needs --var VARIETY or symbols")
        req = VerifyCoverageRequest(
            symbols=tuple(request.symbols),
            variety_key=request.variety or None,
            start_day=parse_day(request.start_day, "start_day", required=False),
            end_day=parse_day(request.end_day, "end_day", required=False),
        )

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.verify()(req, progress)
            summary = (
                f"verify: {len(r.contracts)} contracts, expected {r.expected} days, present {r.present}, "
                f"no-data {r.no_data}, missing {r.missing}"
                + (f", {len(r.unindexed)} unindexed (skipped)" if r.unindexed else "")
            )
            return RunOutcome(r.missing == 0, summary, r, r.report_path)

        return work

    def FillMissing(
        self, request: data_pb2.FillMissingRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["FillMissing"], request, context)

    def _fill_missing_work(self, request: data_pb2.FillMissingRequest, stop: Stop) -> Work:
        mode = request.mode or "normal"
        if mode not in ("normal", "init"):
            raise InvalidArgument(f"mode must be 'normal' or 'init', got {mode!r}")
        req = FillMissingRequest(variety_key=request.variety, mode=cast(Literal["normal", "init"], mode))

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.fill_missing()(req, progress)
            d = r.download
            return RunOutcome(
                d.missing == 0, f"fill-missing ({r.mode}): " + _multi_summary("filled", d), r, d.report_path
            )

        return work

    def BootstrapIndex(
        self, request: data_pb2.BootstrapIndexRequest, context: grpc.ServicerContext
    ) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["BootstrapIndex"], request, context)

    def _bootstrap_index_work(self, request: data_pb2.BootstrapIndexRequest, stop: Stop) -> Work:
        req = BootstrapIndexRequest(symbols=tuple(request.symbols))

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.bootstrap_index()(req, progress)
            summary = (
                f"bootstrap-index: {r.symbols} symbols, {r.days} days; {r.added} added, {r.changed} changed, "
                f"{r.unchanged} unchanged, {r.removed} removed in {r.duration_s:.1f}s"
            )
            return RunOutcome(True, summary, r, r.report_path)

        return work

    def Audit(self, request: data_pb2.AuditRequest, context: grpc.ServicerContext) -> Iterator[runs_pb2.RunEvent]:
        return self._launcher.run(self._specs["Audit"], request, context)

    def _audit_work(self, request: data_pb2.AuditRequest, stop: Stop) -> Work:
        req = AuditStoreRequest(
            symbols=tuple(request.symbols), seed=request.seed, sample_days=optional_field(request, "sample_days")
        )

        def work(progress: Callable[[int, int, str], None]) -> RunOutcome:
            r = self._uc.audit()(req, progress)
            errors = sum(1 for f in r.findings if f.severity == "error")
            warnings = len(r.findings) - errors
            verdict = "clean" if r.ok else "ERRORS FOUND"
            summary = (
                f"audit {verdict}: {r.symbols} symbols, {r.partitions_read} partitions read, "
                f"{errors} errors, {warnings} warnings in {r.duration_s:.1f}s"
            )
            return RunOutcome(r.ok, summary, r, r.report_path)

        return work

    def GetContractStatus(
        self, request: data_pb2.GetContractStatusRequest, context: grpc.ServicerContext
    ) -> data_pb2.GetContractStatusResponse:
        if not request.variety:
            raise InvalidArgument("variety is required, e.g. SHFE.cu")
        r = self._uc.contract_status()(ContractStatusRequest(variety_key=request.variety))
        rows = []
        for c in r.contracts:
            cov = c.coverage
            rows.append(
                data_pb2.ContractStatusRow(
                    symbol=c.symbol,
                    status=c.status,
                    expected_days=cov.expected,
                    present_days=cov.present,
                    no_data_days=cov.no_data,
                    missing_days=cov.missing,
                    first_present_day=cov.first_present.isoformat() if cov.first_present else "",
                    last_present_day=cov.last_present.isoformat() if cov.last_present else "",
                )
            )
        return data_pb2.GetContractStatusResponse(variety=r.variety_key, contracts=rows, counts=dict(r.counts))


def data_service(use_cases: DataUseCases, launcher: JobLauncher | None = None) -> ServiceRegistration:
    servicer = DataServicer(use_cases, launcher)
    return ServiceRegistration(
        service_name=data_pb2.DESCRIPTOR.services_by_name["DataService"].full_name,
        register=lambda server: data_pb2_grpc.add_DataServiceServicer_to_server(servicer, server),
    )
