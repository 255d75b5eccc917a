"""Plain, typed views of API answers (what callers get instead of raw protobuf)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class DiskView:
    path: str
    used_bytes: int
    free_bytes: int
    total_bytes: int


@dataclass(frozen=True)
class StatusView:
    version: str
    git_commit: str
    uptime_seconds: float
    server_time_ns: int
    store_backend: str
    store_reachable: bool
    store_detail: str
    cpu_percent: float
    cpu_count: int
    memory_used_bytes: int
    memory_total_bytes: int
    disks: tuple[DiskView, ...]
    gpu: str
    provider: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProgressView:
    done: int
    total: int
    message: str
    percent: float


@dataclass(frozen=True)
class RunResultView:
    """The end of a long-running call: ``ok`` false means it finished but found problems."""

    ok: bool
    summary: str
    report_path: str
    result: dict[str, Any]
    job_id: int = 0  # the job that ran it (``ghtrader jobs show``); 0 when run in the server's thread
    # The typed result (results.proto: IngestResult, VerifyResult, BuildResult, TrainResult,
    # BacktestResult or BenchmarkResult) and its RunResult field name; None / "" for commands without one.
    typed: Any = field(default=None, compare=False, repr=False)
    typed_kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The plain fields (``result`` is the full result; the typed message is left out)."""
        out = asdict(replace(self, typed=None))
        del out["typed"], out["typed_kind"]
        return out


@dataclass(frozen=True)
class ContractStatusView:
    symbol: str
    status: str
    expected_days: int
    present_days: int
    no_data_days: int
    missing_days: int
    first_present_day: str
    last_present_day: str


@dataclass(frozen=True)
class VarietyStatusView:
    variety: str
    contracts: tuple[ContractStatusView, ...]
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
