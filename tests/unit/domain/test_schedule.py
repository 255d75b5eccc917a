"""Main-contract roll schedule: the OI rule, segments, L5 gating and the schedule hash."""

from __future__ import annotations

import hashlib
import itertools
import random
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from ghtrader.domain.errors import InvalidSymbolError
from ghtrader.domain.schedule import (
    SCHEDULE_RULE,
    MainSchedule,
    ScheduleError,
    ScheduleRow,
    ScheduleSegment,
    build_main_schedule,
)

A, B, C = "SHFE.cu2407", "SHFE.cu2408", "SHFE.cu2409"
D = [date(2024, 6, 3) + timedelta(days=i) for i in range(10)]  # consecutive stand-in trading days


def build(eod_oi, **kw):
    return build_main_schedule(eod_oi, exchange="SHFE", variety="cu", **kw)


def mains(s: MainSchedule) -> list[tuple[date, str]]:
    return [(r.trading_day, r.main_contract) for r in s.rows]


# --- the rule on hand-written panels -------------------------------------------------------------
def test_hand_written_example() -> None:
    oi = {
        D[0]: {A: 100_000, B: 80_000, C: 10_000},
        D[1]: {A: 95_000, B: 100_000, C: 12_000},  # B > A but < 1.1 x A: keep A
        D[2]: {A: 90_000, B: 100_000, C: 15_000},  # B = 1.11 x A: switch, effective D[3]
        D[3]: {A: 60_000, B: 105_000, C: 30_000},
        D[4]: {A: 20_000, B: 100_000, C: 109_000},  # C < 1.1 x B: keep B
        D[5]: {A: 5_000, B: 90_000, C: 120_000},  # C = 1.33 x B: switch, effective D[6]
        D[6]: {B: 70_000, C: 130_000},
    }
    s = build(oi)
    assert mains(s) == [(D[1], A), (D[2], A), (D[3], B), (D[4], B), (D[5], B), (D[6], C)]
    assert [r.segment_id for r in s.rows] == [0, 0, 1, 1, 1, 2]
    assert s.segments() == [
        ScheduleSegment(0, A, D[1], D[2]),
        ScheduleSegment(1, B, D[3], D[5]),
        ScheduleSegment(2, C, D[6], D[6]),
    ]
    assert s.main_on(D[4]) == B and s.main_on(D[0]) is None and s.main_on(D[9]) is None
    assert s.row_on(D[6]) == ScheduleRow(D[6], C, 2)
    assert s.next_main == C and len(s) == 6 and s.days == tuple(D[1:7])


def test_effective_next_day_and_never_intraday() -> None:
    # The switch signal on D[1] leaves D[1] itself on the old main; D[2] gets the new one.
    oi = {D[0]: {A: 100, B: 50}, D[1]: {A: 100, B: 200}, D[2]: {A: 100, B: 200}}
    s = build(oi)
    assert mains(s) == [(D[1], A), (D[2], B)]
    # Exactly one main per scheduled day, and the first input day only seeds the first main.
    assert len({r.trading_day for r in s.rows}) == len(s.rows) == len(oi) - 1


@pytest.mark.parametrize(("ratio", "switches"), [(1.09, False), (1.10, False), (1.11, True)])
def test_switch_threshold_is_strictly_above_ratio(ratio: float, switches: bool) -> None:
    main_oi = 100_000
    oi = {D[0]: {A: main_oi, B: 1}, D[1]: {A: main_oi, B: round(main_oi * ratio)}, D[2]: {A: 1, B: 1}}
    s = build(oi)
    assert s.main_on(D[2]) == (B if switches else A)


def test_custom_switch_ratio() -> None:
    oi = {D[0]: {A: 100, B: 1}, D[1]: {A: 100, B: 130}, D[2]: {}}
    assert build(oi, switch_ratio=1.5).main_on(D[2]) == A
    assert build(oi, switch_ratio=1.2).main_on(D[2]) == B


def test_ties_go_to_the_alphabetically_first_contract() -> None:
    oi = {D[0]: {C: 500, B: 500, A: 100}, D[1]: {C: 10, B: 10, A: 1_000}, D[2]: {}}
    s = build(oi)
    assert s.main_on(D[1]) == B  # B and C tie for the first main
    assert s.main_on(D[2]) == A
    # Two challengers tie above the threshold: the alphabetically first wins.
    oi2 = {D[0]: {B: 100, A: 1, C: 1}, D[1]: {B: 100, C: 200, A: 200}, D[2]: {}}
    assert build(oi2).main_on(D[2]) == A


def test_a_data_gap_of_the_main_keeps_it_and_makes_no_decision() -> None:
    # A has no data on D[1] (a feed gap; it trades again on D[2]): A stays the main and no
    # switch is decided on D[1], although C leads the day's data. No segment comes from the gap.
    oi = {D[0]: {A: 100, B: 90, C: 80}, D[1]: {B: 50, C: 60}, D[2]: {A: 65, B: 50, C: 60}, D[3]: {}}
    s = build(oi)
    assert mains(s) == [(D[1], A), (D[2], A), (D[3], A)]
    assert len(s.segments()) == 1
    # NaN OI counts as no data, the same way.
    oi[D[1]] = {A: float("nan"), B: 50, C: 60}
    assert mains(build(oi)) == mains(s)
    # A genuine switch on the day after the gap still happens.
    oi[D[2]] = {A: 50, B: 50, C: 60}
    assert mains(build(oi)) == [(D[1], A), (D[2], A), (D[3], C)]


def test_a_main_without_expiry_and_without_later_data_is_gone() -> None:
    # Without a catalog, a main that has no data on D[1] nor any later day has ended: roll.
    oi = {D[0]: {A: 100, B: 90}, D[1]: {B: 50}, D[2]: {B: 50}}
    assert mains(build(oi)) == [(D[1], A), (D[2], B)]
    # With a known expiry after D[2] it is a gap instead.
    assert mains(build(oi, last_trading_day={A: D[9]})) == [(D[1], A), (D[2], A)]


def test_initial_main_is_effective_on_the_first_day() -> None:
    # Hysteresis: B leads by less than 1.1x, so a main A decided from earlier history holds.
    oi = {D[0]: {A: 100, B: 105}, D[1]: {A: 100, B: 105}, D[2]: {A: 100, B: 120}}
    assert mains(build(oi)) == [(D[1], B), (D[2], B)]
    s = build(oi, initial_main=A)
    assert mains(s) == [(D[0], A), (D[1], A), (D[2], A)] and s.next_main == B
    with pytest.raises(ScheduleError):
        build(oi, initial_main="SHFE.au2412")


def test_day_without_any_data_keeps_the_main() -> None:
    oi = {D[0]: {A: 100, B: 50}, D[1]: {}, D[2]: {A: 10, B: 500}, D[3]: {}}
    assert mains(build(oi)) == [(D[1], A), (D[2], A), (D[3], B)]
    # No main until the first day with data.
    assert mains(build({D[0]: {}, D[1]: {A: 1}, D[2]: {}})) == [(D[2], A)]


def test_last_trading_day_rolls_an_expiring_main() -> None:
    oi = {D[0]: {A: 100, B: 50}, D[1]: {A: 100, B: 50}, D[2]: {B: 50}}
    s = build(oi, last_trading_day={A: D[1]})
    assert mains(s) == [(D[1], A), (D[2], B)]
    assert mains(build(oi)) == [(D[1], A), (D[2], A)]  # without expiry data A stays one more day


def test_l5_first_day_drops_leading_days_without_depth() -> None:
    oi = {D[i]: {A: 100 - 10 * i, B: 10 * i + 1} for i in range(8)}
    full = build(oi)
    # B passes 1.1 x A at the end of D[6] (61 > 44), effective D[7].
    assert mains(full) == [(D[i], A) for i in range(1, 7)] + [(D[7], B)]
    gated = build(oi, l5_first_day={A: D[3], B: D[0]})
    assert mains(gated) == mains(full)[2:]
    assert [r.segment_id for r in gated.rows] == [0, 0, 0, 0, 1]
    # A never has L5: the schedule starts when B becomes the main.
    only_b = build(oi, l5_first_day={B: D[0]})
    assert mains(only_b) == [(D[7], B)] and only_b.rows[0].segment_id == 0
    assert build(oi, l5_first_day={}).rows == ()
    # Later days keep their rows even when their main lacks L5 (only leading days are dropped).
    later = build(oi, l5_first_day={A: D[0]})
    assert mains(later) == mains(full)


# --- the hash -----------------------------------------------------------------------------------
def test_hash_follows_the_documented_canonical_text() -> None:
    oi = {D[0]: {A: 100, B: 50}, D[1]: {A: 100, B: 200}, D[2]: {}}
    s = build(oi)
    text = "\n".join(
        [
            f"rule={SCHEDULE_RULE};exchange=SHFE;variety=cu;switch_ratio=1.1",
            f"{D[1].isoformat()},{A},0",
            f"{D[2].isoformat()},{B},1",
        ]
    )
    assert s.schedule_hash == hashlib.sha256(text.encode()).hexdigest()


def test_hash_is_deterministic_and_sensitive() -> None:
    rng = random.Random(7)
    oi = {D[i]: {c: float(rng.randint(1, 1000)) for c in (A, B, C)} for i in range(10)}
    reordered = {d: dict(reversed(list(v.items()))) for d, v in reversed(list(oi.items()))}
    h = build(oi).schedule_hash
    assert build(reordered).schedule_hash == h
    assert len(h) == 64 and int(h, 16) >= 0
    assert MainSchedule.from_rows(build(oi).rows, exchange="SHFE", variety="cu", switch_ratio=1.25).schedule_hash != h
    shorter = dict(list(oi.items())[:-1])
    assert build(shorter).schedule_hash != h


def test_from_rows_round_trip_and_validation() -> None:
    oi = {D[0]: {A: 100, B: 50}, D[1]: {A: 100, B: 200}, D[2]: {}, D[3]: {}}
    s = build(oi)
    tuples = [(r.trading_day, r.main_contract, r.segment_id) for r in s.rows]
    again = MainSchedule.from_rows(tuples, exchange="SHFE", variety="cu", next_main=s.next_main)
    assert again == s and again.schedule_hash == s.schedule_hash
    with pytest.raises(ScheduleError, match="segment_id"):
        MainSchedule.from_rows([(D[1], A, 0), (D[2], B, 2)], exchange="SHFE", variety="cu")
    with pytest.raises(ScheduleError, match="segment_id"):
        MainSchedule.from_rows([(D[1], A, 1)], exchange="SHFE", variety="cu")
    with pytest.raises(ScheduleError, match="segment_id"):
        MainSchedule.from_rows([(D[1], A, 0.0)], exchange="SHFE", variety="cu")
    stored = [(d, c, np.int64(g)) for d, c, g in tuples]  # as a database driver may return them
    assert MainSchedule.from_rows(stored, exchange="SHFE", variety="cu").schedule_hash == s.schedule_hash
    with pytest.raises(ScheduleError, match="ascend"):
        MainSchedule.from_rows([(D[2], A, 0), (D[1], A, 0)], exchange="SHFE", variety="cu")
    with pytest.raises(ScheduleError, match=r"not a SHFE\.cu contract"):
        MainSchedule.from_rows([(D[1], "SHFE.au2412", 0)], exchange="SHFE", variety="cu")


def test_invalid_inputs() -> None:
    with pytest.raises(ScheduleError, match=r"not a SHFE\.cu"):
        build({D[0]: {"SHFE.ag2412": 1.0}})
    with pytest.raises(InvalidSymbolError):
        build({D[0]: {"cu2412": 1.0}})
    with pytest.raises(ScheduleError, match="negative"):
        build({D[0]: {A: -1.0}})
    with pytest.raises(ScheduleError, match=r"datetime\.date"):
        build({datetime(2024, 6, 3, 9): {A: 1.0}})
    with pytest.raises(ScheduleError, match="switch_ratio"):
        build({D[0]: {A: 1.0}}, switch_ratio=0.9)
    assert build({}).rows == () and build({}).next_main is None


# --- independent recomputation ------------------------------------------------------------------
def brute_force(oi, contracts, ratio, l5_first):
    """Matrix formulation: days x contracts (alphabetical), NaN = no data; np.nanargmax picks
    the first maximum, which is the alphabetical tie-break."""
    days = sorted(oi)
    m = np.full((len(days), len(contracts)), np.nan)
    for i, d in enumerate(days):
        for j, c in enumerate(contracts):
            if c in oi[d]:
                m[i, j] = oi[d][c]
    main_idx = np.full(len(days), -1)  # main effective on day i (decided at the end of day i-1)
    cur = -1
    for i in range(len(days)):
        main_idx[i] = cur
        row = m[i]
        if np.all(np.isnan(row)):
            continue
        gone = cur >= 0 and np.all(np.isnan(m[i:, cur]))  # no expiry given: no data from today on
        if cur < 0 or gone:
            cur = int(np.nanargmax(row))
            continue
        if np.isnan(row[cur]):
            continue  # a data gap of the main: keep it, no decision
        seen = ~np.all(np.isnan(m[:i]), axis=0) & ~np.all(np.isnan(m[i + 1 :]), axis=0)
        if i == 0 and len(days) > 1:
            seen = ~np.isnan(m[1])
        if np.any(seen & np.isnan(row)):
            continue  # another contract has a hole today: no decision
        others = row.copy()
        others[cur] = np.nan
        if not np.all(np.isnan(others)):
            j = int(np.nanargmax(others))
            if others[j] > ratio * row[cur]:
                cur = j
    keep = main_idx >= 0
    if l5_first is not None:
        ok = np.array(
            [
                idx >= 0 and contracts[idx] in l5_first and l5_first[contracts[idx]] <= d
                for idx, d in zip(main_idx, days, strict=True)
            ]
        )
        first = int(np.argmax(ok)) if ok.any() else len(days)
        keep &= np.arange(len(days)) >= first
    sel = np.flatnonzero(keep)
    names = [contracts[main_idx[i]] for i in sel]
    seg = np.cumsum([0] + [int(a != b) for a, b in itertools.pairwise(names)]) if names else []
    return [(days[i], n, int(g)) for i, n, g in zip(sel, names, seg, strict=True)]


@pytest.mark.parametrize("seed", range(25))
def test_agrees_with_brute_force_on_random_panels(seed: int) -> None:
    rng = random.Random(seed)
    contracts = sorted(f"SHFE.cu{24 + y:02d}{mo:02d}" for y in range(2) for mo in range(1, 13))[: rng.randint(2, 8)]
    n_days = rng.randint(1, 60)
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(n_days)]
    oi = {}
    for d in days:
        present = [c for c in contracts if rng.random() < 0.8]
        # A small value range makes ties and near-threshold ratios common.
        oi[d] = {c: float(rng.choice([rng.randint(0, 30), rng.randint(0, 30) * 10])) for c in present}
    ratio = rng.choice([1.0, 1.1, 1.1, 1.5])
    l5 = None
    if rng.random() < 0.5:
        l5 = {c: rng.choice(days) for c in contracts if rng.random() < 0.7}
    got = build(oi, switch_ratio=ratio, l5_first_day=l5)
    want = brute_force(oi, contracts, ratio, l5)
    assert [(r.trading_day, r.main_contract, r.segment_id) for r in got.rows] == want
