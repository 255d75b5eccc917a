"""The main-contract roll schedule of one variety, from end-of-day open interest (OI rule).

The rule (SHFE_FACTS.md, "Main contract roll rule"), applied at the end of each trading day T
of the input, in date order, with the result effective on the next input day (T+1):

1. Candidates are the contracts with finite OI on day T (a contract absent from day T's mapping,
   or with NaN OI, has no data that day) that do not expire on or before T when
   ``last_trading_day`` is given.
2. With no main yet, or when the main is gone, the new main is the candidate with the largest
   OI. The main is gone when it expires on or before T (``last_trading_day``), or, for a
   contract without a known expiry, when neither T nor any later input day has data for it.
3. A main that is not gone but has no data on T (a data gap: a vendor feed hole, a day not
   downloaded) stays the main and NO decision is taken that day. Likewise when another
   contract has a hole on T (no data on T, but data on an earlier and a later input day; on
   the first input day: data on the next one): its OI is unknown, so a switch decided without
   it could pick the wrong challenger.
4. Otherwise the strongest challenger (the largest-OI candidate other than the main) becomes the
   main only if its OI is strictly greater than ``switch_ratio`` x the main's OI.
5. Ties on OI go to the alphabetically first symbol. A day with no candidate keeps the main.

Why "no decision" on a gap rather than carrying the main's last known OI: a carried value is
stale, and comparing it with the challengers' fresh OI can switch (or fail to switch) on a
number nobody observed that day. Skipping the day only delays a genuine switch by the length of
the gap, and it can never create a segment that a gap caused: the earlier rule dropped a main
without data from the candidates, so one missing day made another contract main for a day and
the main switched back (two spurious segments and a main_l5 day without data); and a challenger
missing on the day it overtook the main let the third contract take the main for a day.

There is no intraday switching: every trading day has exactly one main. Without
``initial_main`` the first input day only seeds the first main, so the schedule's rows start at
the second input day at the earliest; with it (the main effective on the first input day,
decided from an earlier history) the first input day is a row too. With ``l5_first_day`` the
leading rows whose main has no true L5 yet are dropped and the schedule starts at the first day
whose main has L5; segment ids then start at 0 there.

:func:`choose_contracts` runs the same rule over a complete end-of-day OI history (a provider's,
which knows a contract's OI even on a day it has no ticks) and names the contracts a job must
hold for a window: the mains of the window plus the largest by OI on its last day.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import parse_contract

__all__ = [
    "DEFAULT_SWITCH_RATIO",
    "SCHEDULE_RULE",
    "ContractChoice",
    "MainSchedule",
    "ScheduleError",
    "ScheduleRow",
    "ScheduleSegment",
    "build_main_schedule",
    "choose_contracts",
]

#: Name and version of the rule; part of every schedule hash (bump it when the rule changes).
SCHEDULE_RULE = "oi-max-switch/v2"  # v2: a main without data on a day keeps the main
DEFAULT_SWITCH_RATIO = 1.1


class ScheduleError(DomainError):
    """Open-interest input or schedule rows that cannot make a valid main schedule."""


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """The main contract of one trading day and the segment it belongs to."""

    trading_day: date
    main_contract: str
    segment_id: int


@dataclass(frozen=True, slots=True)
class ScheduleSegment:
    """A run of consecutive schedule rows with the same main contract (inclusive days)."""

    segment_id: int
    contract: str
    first_day: date
    last_day: date


def _check_day(d: object, what: str) -> date:
    if not isinstance(d, date) or isinstance(d, datetime):
        raise ScheduleError(f"invalid {what} {d!r}: expected a datetime.date")
    return d


def _schedule_hash(rows: tuple[ScheduleRow, ...], exchange: str, variety: str, switch_ratio: float) -> str:
    """sha256 (hex) of a canonical text: one header line with the rule parameters, one line per row."""
    lines = [f"rule={SCHEDULE_RULE};exchange={exchange};variety={variety};switch_ratio={float(switch_ratio)!r}"]
    lines.extend(f"{r.trading_day.isoformat()},{r.main_contract},{r.segment_id}" for r in rows)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class MainSchedule:
    """Ordered main-contract rows of one variety with a deterministic hash.

    Attributes:
        exchange, variety: e.g. ``"SHFE"``, ``"cu"``.
        switch_ratio: the rule's switch threshold.
        rows: one row per scheduled trading day, ascending; ``segment_id`` starts at 0 and
            increments by one at each change of main contract.
        next_main: the main decided at the end of the last input day, effective on the trading
            day after it (not a row: that day's date is not known here); None when no main.
        schedule_hash: sha256 hex over :data:`SCHEDULE_RULE`, exchange, variety, switch_ratio
            and every row; stable across runs and machines. ``next_main`` is not part of it.

    Constructing one validates the rows (see :meth:`__post_init__`) and computes the hash.
    """

    exchange: str
    variety: str
    switch_ratio: float
    rows: tuple[ScheduleRow, ...]
    next_main: str | None = None
    schedule_hash: str = field(init=False, compare=False)
    _by_day: Mapping[date, ScheduleRow] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate the rows and compute the hash.

        Raises:
            ScheduleError: days not strictly ascending, a contract of another variety, or
                segment ids that do not start at 0 and step by one exactly at each change.
        """
        _check_ratio(self.switch_ratio)
        checked: list[ScheduleRow] = []
        prev: ScheduleRow | None = None
        for raw in self.rows:
            row = raw if isinstance(raw, ScheduleRow) else ScheduleRow(*raw)
            day = _check_day(row.trading_day, "trading_day")
            _check_contract(row.main_contract, self.exchange, self.variety)
            try:
                if isinstance(row.segment_id, bool):
                    raise TypeError
                row = ScheduleRow(day, row.main_contract, operator.index(row.segment_id))  # e.g. np.int64
            except TypeError:
                raise ScheduleError(f"invalid segment_id {row.segment_id!r} on {day}: expected an int") from None
            if prev is None:
                expected = 0
            else:
                if day <= prev.trading_day:
                    raise ScheduleError(f"schedule days must ascend strictly: {day} after {prev.trading_day}")
                expected = prev.segment_id + (row.main_contract != prev.main_contract)
            if row.segment_id != expected:
                raise ScheduleError(
                    f"invalid segment_id {row.segment_id} on {day} for {row.main_contract}: expected {expected}"
                )
            prev = row
            checked.append(row)
        rows = tuple(checked)
        if self.next_main is not None:
            _check_contract(self.next_main, self.exchange, self.variety)
        ratio = float(self.switch_ratio)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "switch_ratio", ratio)
        object.__setattr__(self, "schedule_hash", _schedule_hash(rows, self.exchange, self.variety, ratio))
        object.__setattr__(self, "_by_day", {r.trading_day: r for r in rows})

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[ScheduleRow | tuple[date, str, int]],
        *,
        exchange: str,
        variety: str,
        switch_ratio: float = DEFAULT_SWITCH_RATIO,
        next_main: str | None = None,
    ) -> MainSchedule:
        """Rebuild a schedule (and its hash) from stored rows or ``(day, contract, segment_id)`` tuples."""
        typed = tuple(r if isinstance(r, ScheduleRow) else ScheduleRow(*r) for r in rows)
        return cls(exchange, variety, switch_ratio, typed, next_main)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def days(self) -> tuple[date, ...]:
        """The scheduled trading days, ascending."""
        return tuple(r.trading_day for r in self.rows)

    def row_on(self, day: date) -> ScheduleRow | None:
        """The schedule row of ``day``, or None when the day is not scheduled."""
        return self._by_day.get(day)

    def main_on(self, day: date) -> str | None:
        """The main contract on ``day``, or None when the day is not scheduled."""
        row = self._by_day.get(day)
        return None if row is None else row.main_contract

    def segments(self) -> list[ScheduleSegment]:
        """Runs of the same main: ``(segment_id, contract, first_day, last_day)``, in order."""
        out: list[ScheduleSegment] = []
        for r in self.rows:
            if out and out[-1].segment_id == r.segment_id:
                last = out[-1]
                out[-1] = ScheduleSegment(last.segment_id, last.contract, last.first_day, r.trading_day)
            else:
                out.append(ScheduleSegment(r.segment_id, r.main_contract, r.trading_day, r.trading_day))
        return out


def _check_ratio(switch_ratio: float) -> None:
    if (
        isinstance(switch_ratio, bool)
        or not isinstance(switch_ratio, (int, float))
        or not (math.isfinite(switch_ratio) and switch_ratio >= 1.0)
    ):
        raise ScheduleError(f"invalid switch_ratio {switch_ratio!r}: expected a finite number >= 1")


def _check_contract(symbol: object, exchange: str, variety: str) -> None:
    if not isinstance(symbol, str):
        raise ScheduleError(f"invalid contract {symbol!r}: expected a symbol like 'SHFE.cu2602'")
    c = parse_contract(symbol)
    if c.exchange != exchange or c.variety != variety:
        raise ScheduleError(f"contract {symbol!r} is not a {exchange}.{variety} contract")


def _best(oi: Mapping[str, float], exclude: str | None = None) -> str | None:
    """Largest-OI symbol (ties: alphabetically first), skipping ``exclude``; None when empty."""
    best: str | None = None
    best_oi = -math.inf
    for sym in sorted(oi):
        if sym != exclude and oi[sym] > best_oi:
            best, best_oi = sym, oi[sym]
    return best


def _run_rule(
    eod_oi: Mapping[date, Mapping[str, float]],
    *,
    exchange: str,
    variety: str,
    switch_ratio: float,
    last_trading_day: Mapping[str, date] | None,
    initial_main: str | None,
) -> tuple[list[tuple[date, str]], str | None]:
    """The OI rule (module docstring) over every day of ``eod_oi``: ``(day, main effective that
    day)`` for each day that has a main, and the main decided at the end of the last day."""
    _check_ratio(switch_ratio)
    days = sorted(_check_day(d, "trading day") for d in eod_oi)
    if initial_main is not None:
        _check_contract(initial_main, exchange, variety)
    per_day: list[dict[str, float]] = []
    first_data: dict[str, date] = {}
    last_data: dict[str, date] = {}
    checked: set[str] = set()
    for day in days:
        finite: dict[str, float] = {}
        for sym, value in eod_oi[day].items():
            if sym not in checked:
                _check_contract(sym, exchange, variety)
                checked.add(sym)
            v = float(value)
            if math.isnan(v):
                continue
            if v < 0:
                raise ScheduleError(f"negative open interest {value!r} for {sym} on {day}")
            finite[sym] = v
            first_data.setdefault(sym, day)
            last_data[sym] = day
        per_day.append(finite)

    def expiry_of(sym: str) -> date | None:
        return None if last_trading_day is None else last_trading_day.get(sym)

    main = initial_main
    decided: list[tuple[date, str]] = []
    for day, finite in zip(days, per_day, strict=True):
        if main is not None:
            decided.append((day, main))
        candidates = {s: v for s, v in finite.items() if (e := expiry_of(s)) is None or e > day}
        if not candidates:
            continue
        if main is None:
            main = _best(candidates)
            continue
        expiry = expiry_of(main)
        if expiry is not None:
            gone = expiry <= day
        else:
            last = last_data.get(main)
            gone = last is None or last < day
        if gone:
            main = _best(candidates)
        elif main in candidates and not _has_hole(finite, day, first_data, last_data, days):
            challenger = _best(candidates, exclude=main)
            if challenger is not None and candidates[challenger] > switch_ratio * candidates[main]:
                main = challenger
        # else: a data gap of the live main, or a hole of another contract: no decision today
    return decided, main


def _has_hole(
    finite: Mapping[str, float], day: date, first: Mapping[str, date], last: Mapping[str, date], days: list[date]
) -> bool:
    """Whether a contract lacks data on ``day`` inside its data span (module docstring, rule 3)."""
    if day == days[0]:
        return len(days) > 1 and any(s not in finite and first[s] == days[1] for s in first)
    return any(s not in finite and first[s] < day < last[s] for s in first)


def build_main_schedule(
    eod_oi: Mapping[date, Mapping[str, float]],
    *,
    exchange: str,
    variety: str,
    l5_first_day: Mapping[str, date] | None = None,
    switch_ratio: float = DEFAULT_SWITCH_RATIO,
    last_trading_day: Mapping[str, date] | None = None,
    initial_main: str | None = None,
) -> MainSchedule:
    """Run the OI roll rule (module docstring) over ``eod_oi`` and return the schedule.

    Args:
        eod_oi: per trading day, contract symbol -> end-of-day open interest. Its keys are
            taken as the consecutive trading days: "T+1" is the next key, so pass every
            trading day (an empty mapping for a day without data keeps the main).
        exchange, variety: the variety scheduled; every symbol must belong to it.
        l5_first_day: contract -> first trading day with true L5 depth. When given, leading
            days whose main is absent from it or whose day is before its first L5 day are
            dropped. Later rows are all kept.
        switch_ratio: a challenger must have OI strictly above ``switch_ratio`` x the main's.
        last_trading_day: optional contract -> expiry day; a contract whose expiry is on or
            before day T is no candidate at the end of T (so a main expiring on T rolls for T+1).
        initial_main: the main effective on the first input day (decided from earlier history);
            None seeds the main from the first day with data.

    Raises:
        ScheduleError: a day that is not a ``date``, a symbol of another variety, a negative
            OI, or a ``switch_ratio`` below 1.
    """
    decided, main = _run_rule(
        eod_oi,
        exchange=exchange,
        variety=variety,
        switch_ratio=switch_ratio,
        last_trading_day=last_trading_day,
        initial_main=initial_main,
    )
    if l5_first_day is not None:
        start = 0
        while start < len(decided):
            day, contract = decided[start]
            first = l5_first_day.get(contract)
            if first is not None and _check_day(first, f"l5_first_day of {contract}") <= day:
                break
            start += 1
        decided = decided[start:]

    rows: list[ScheduleRow] = []
    for day, contract in decided:
        seg = 0 if not rows else rows[-1].segment_id + (contract != rows[-1].main_contract)
        rows.append(ScheduleRow(day, contract, seg))
    return MainSchedule(exchange, variety, switch_ratio, tuple(rows), main)


@dataclass(frozen=True, slots=True)
class ContractChoice:
    """The contracts to hold for a window, from a complete end-of-day OI history.

    Attributes:
        mains: ``(day, main)`` for each window day that has a main, ascending.
        next_main: the main decided at the end of the window's last day.
        by_open_interest: the last day's live contracts with data, largest OI first (ties:
            alphabetical).
        contracts: the union of the window's mains and the first ``count`` of
            ``by_open_interest``, sorted.
    """

    mains: tuple[tuple[date, str], ...]
    next_main: str | None
    by_open_interest: tuple[str, ...]
    contracts: tuple[str, ...]

    def main_on(self, day: date) -> str | None:
        """The main effective on ``day`` (a window day), or None."""
        return next((m for d, m in self.mains if d == day), None)


def choose_contracts(
    eod_oi: Mapping[date, Mapping[str, float]],
    window_start: date,
    count: int,
    *,
    exchange: str,
    variety: str,
    switch_ratio: float = DEFAULT_SWITCH_RATIO,
    last_trading_day: Mapping[str, date] | None = None,
) -> ContractChoice:
    """The contracts a job needs for the window ``[window_start, last day of eod_oi]``.

    ``eod_oi`` is the complete OI history (every trading day, every listed contract) from some
    lookback before ``window_start``: the rule's hysteresis makes the main of a day depend on
    earlier days, so the longer the lookback the closer the mains are to the exchange's.

    Raises:
        ScheduleError: as :func:`build_main_schedule`, or ``count`` below 1, or no day of
            ``eod_oi`` at or after ``window_start``.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ScheduleError(f"invalid count {count!r}: expected an int >= 1")
    decided, next_main = _run_rule(
        eod_oi,
        exchange=exchange,
        variety=variety,
        switch_ratio=switch_ratio,
        last_trading_day=last_trading_day,
        initial_main=None,
    )
    window_days = [d for d in eod_oi if _check_day(d, "trading day") >= window_start]
    if not window_days:
        raise ScheduleError(f"no open-interest day at or after the window start {window_start}")
    end = max(window_days)
    last_oi = {s: float(v) for s, v in eod_oi[end].items() if not math.isnan(float(v))}
    if last_trading_day is not None:
        last_oi = {s: v for s, v in last_oi.items() if (e := last_trading_day.get(s)) is None or e >= end}
    ranked = tuple(sorted(last_oi, key=lambda s: (-last_oi[s], s)))
    mains = tuple((d, m) for d, m in decided if d >= window_start)
    contracts = tuple(sorted(set(ranked[:count]) | {m for _, m in mains}))
    return ContractChoice(mains, next_main, ranked, contracts)
