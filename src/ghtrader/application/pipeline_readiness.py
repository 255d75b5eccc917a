"""Use case: what each pipeline stage needs, per variety, read from the index and schedule
stores only (never the ticks): raw contracts indexed, a roll schedule, main_l5 days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ghtrader.application.ports.datasets import ScheduleStore
from ghtrader.application.ports.stores import IndexStore
from ghtrader.application.ports.system import StoreProbe
from ghtrader.domain.instruments import continuous_symbol

DEFAULT_VARIETIES = ("SHFE.cu", "SHFE.au", "SHFE.ag")
MAIN_L5_LAKE = "main_l5"


@dataclass(frozen=True)
class VarietyReadiness:
    variety: str  # "SHFE.cu"
    raw_contracts: int
    schedule_present: bool
    main_l5_days: int
    main_l5_last_day: str  # YYYY-MM-DD, "" when none
    error: str = ""


@dataclass(frozen=True)
class PipelineReadiness:
    store_reachable: bool
    store_detail: str
    varieties: tuple[VarietyReadiness, ...]


class GetPipelineReadiness:
    """Probes the store first; when it answers, reads each variety from the index and schedules."""

    def __init__(self, *, probe: StoreProbe, index: IndexStore, schedules: ScheduleStore) -> None:
        self._probe = probe
        self._index = index
        self._schedules = schedules

    def __call__(self, varieties: Sequence[str] = ()) -> PipelineReadiness:
        health = self._probe.health()
        if not health.reachable:
            return PipelineReadiness(False, health.detail, ())
        keys = tuple(varieties) or DEFAULT_VARIETIES
        raw = self._index.indexed_symbols("raw")
        return PipelineReadiness(True, health.detail, tuple(self._variety(key, raw) for key in keys))

    def _variety(self, key: str, raw: list[str]) -> VarietyReadiness:
        exchange, _, variety = key.partition(".")
        if not exchange or not variety.isalpha():
            return VarietyReadiness(key, 0, False, 0, "", f"expected a variety key like 'SHFE.cu', got {key!r}")
        prefix = f"{exchange}.{variety}"
        contracts = sum(1 for s in raw if s.startswith(prefix) and s[len(prefix) :].isdigit())
        try:
            schedule = bool(self._schedules.schedule_hashes(exchange, variety))
            days = self._index.manifests(continuous_symbol(exchange, variety), ticks_lake=MAIN_L5_LAKE)
        except Exception as exc:  # noqa: BLE001 - one variety's failure is reported, not raised
            return VarietyReadiness(key, contracts, False, 0, "", f"{type(exc).__name__}: {exc}")
        last = max((m.trading_day for m in days), default=None)
        return VarietyReadiness(key, contracts, schedule, len(days), last.isoformat() if last else "")
