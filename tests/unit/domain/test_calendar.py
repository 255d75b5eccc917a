"""Trading calendar: trading days, night sessions, trading day and session of timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from ghtrader.domain.calendar import (
    NS_PER_DAY,
    NS_PER_MINUTE,
    SESSION_DAY,
    SESSION_NIGHT,
    SESSION_NONE,
    TradingCalendar,
    beijing_datetime_to_ns,
    date_to_int,
    int_to_date,
    ns_to_beijing_datetime,
    parse_holidays,
)
from ghtrader.domain.errors import CalendarError
from ghtrader.domain.instruments import CONTRACT_SPECS

CU, AU, AG = CONTRACT_SPECS["SHFE.cu"], CONTRACT_SPECS["SHFE.au"], CONTRACT_SPECS["SHFE.ag"]

# SHFE closures of 2024 (New Year, Spring Festival, Qingming, Labour Day, Dragon Boat,
# Mid-Autumn, National Day), as a vendor list would give them (weekday dates).
HOLIDAYS_2024 = [
    "2024-01-01",
    "2024-02-09",
    "2024-02-12",
    "2024-02-13",
    "2024-02-14",
    "2024-02-15",
    "2024-02-16",
    "2024-04-04",
    "2024-04-05",
    "2024-05-01",
    "2024-05-02",
    "2024-05-03",
    "2024-06-10",
    "2024-09-16",
    "2024-09-17",
    "2024-10-01",
    "2024-10-02",
    "2024-10-03",
    "2024-10-04",
    "2024-10-07",
]


@pytest.fixture(scope="module")
def cal() -> TradingCalendar:
    return TradingCalendar(parse_holidays('["' + '", "'.join(HOLIDAYS_2024) + '"]'))


def bj(text: str) -> int:
    """Epoch ns of a Beijing wall-clock time written in ISO form."""
    return beijing_datetime_to_ns(datetime.fromisoformat(text))


# --- conversions ---------------------------------------------------------------------------
def test_beijing_conversion_against_known_epoch() -> None:
    assert bj("2024-01-01 08:00") == 1_704_067_200 * 10**9  # 2024-01-01T00:00Z
    assert bj("1970-01-01 08:00:00.000001") == 1000
    aware = datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
    assert beijing_datetime_to_ns(aware) == 1_704_067_200 * 10**9
    ns = bj("2024-09-27 21:30:15.123456")
    assert ns_to_beijing_datetime(ns) == datetime(2024, 9, 27, 21, 30, 15, 123456)
    assert ns_to_beijing_datetime(ns + 999) == datetime(2024, 9, 27, 21, 30, 15, 123456)


def test_date_int_round_trip() -> None:
    for d in (date(2024, 10, 8), date(2000, 1, 1), date(2099, 12, 31)):
        assert int_to_date(date_to_int(d)) == d
    assert date_to_int(date(2024, 10, 8)) == 20241008


@pytest.mark.parametrize("bad", [20240230, 20241300, 123, "x"])
def test_int_to_date_rejects(bad: object) -> None:
    with pytest.raises(CalendarError, match=str(bad)):
        int_to_date(bad)  # type: ignore[arg-type]


# --- holiday list ----------------------------------------------------------------------------
def test_parse_holidays() -> None:
    assert parse_holidays('["2024-10-01", "2024-10-02", "2024-10-01"]') == {date(2024, 10, 1), date(2024, 10, 2)}
    assert parse_holidays("[]") == frozenset()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"a": 1}', "dict"),
        ("not json", "not JSON"),
        ('["2024-10-01", 5]', "element 1: 5"),
        ('["2024-02-30"]', "'2024-02-30'"),
        ('["20241001"]', "'20241001'"),
        ('["2024-10-1"]', "'2024-10-1'"),
        ("[null]", "None"),
    ],
)
def test_parse_holidays_rejects(text: str, needle: str) -> None:
    with pytest.raises(CalendarError, match=needle):
        parse_holidays(text)


def test_constructor_rejects_datetimes_and_contradictions() -> None:
    with pytest.raises(CalendarError, match="2024"):
        TradingCalendar([datetime(2024, 10, 1)])
    with pytest.raises(CalendarError, match="fallback"):
        TradingCalendar([date(2024, 10, 1)], weekday_only_fallback=True)


def test_weekday_only_fallback() -> None:
    cal = TradingCalendar([], weekday_only_fallback=True)
    assert cal.is_weekday_only
    assert not TradingCalendar([]).is_weekday_only
    assert cal.is_trading_day(date(2024, 10, 1))
    assert cal.has_night_session(date(2024, 9, 30))
    assert cal.trading_days(date(2024, 9, 27), date(2024, 10, 1)) == [
        date(2024, 9, 27),
        date(2024, 9, 30),
        date(2024, 10, 1),
    ]


# --- trading days ------------------------------------------------------------------------------
def test_is_trading_day(cal: TradingCalendar) -> None:
    assert cal.is_trading_day(date(2024, 9, 30))
    assert not cal.is_trading_day(date(2024, 9, 28))  # Saturday
    assert not cal.is_trading_day(date(2024, 10, 1))
    assert not cal.is_trading_day(date(2024, 10, 7))  # Monday, still the holiday


def test_trading_days_inclusive(cal: TradingCalendar) -> None:
    assert cal.trading_days(date(2024, 9, 27), date(2024, 10, 9)) == [
        date(2024, 9, 27),
        date(2024, 9, 30),
        date(2024, 10, 8),
        date(2024, 10, 9),
    ]
    assert cal.trading_days(date(2024, 10, 8), date(2024, 10, 8)) == [date(2024, 10, 8)]
    assert cal.trading_days(date(2024, 10, 9), date(2024, 10, 8)) == []
    days = cal.trading_days(date(2024, 1, 1), date(2024, 12, 31))
    assert len(days) == 262 - len(HOLIDAYS_2024)  # 2024 has 262 weekdays
    assert all(cal.is_trading_day(d) for d in days)


def test_next_and_previous(cal: TradingCalendar) -> None:
    assert cal.next_trading_day(date(2024, 9, 30)) == date(2024, 10, 8)
    assert cal.next_trading_day(date(2024, 10, 3)) == date(2024, 10, 8)
    assert cal.next_trading_day(date(2024, 9, 27)) == date(2024, 9, 30)
    assert cal.next_trading_day(date(2024, 9, 28)) == date(2024, 9, 30)
    assert cal.previous_trading_day(date(2024, 10, 8)) == date(2024, 9, 30)
    assert cal.previous_trading_day(date(2024, 9, 30)) == date(2024, 9, 27)
    assert cal.previous_trading_day(date(2024, 9, 29)) == date(2024, 9, 27)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 9, 26), True),  # Thursday
        (date(2024, 9, 27), True),  # Friday, Monday trades
        (date(2024, 9, 30), False),  # last day before National Day
        (date(2024, 10, 8), True),  # first day after
        (date(2024, 9, 28), False),  # Saturday
        (date(2024, 10, 3), False),  # holiday
        (date(2024, 9, 13), False),  # Friday before Mid-Autumn (Mon 16th closed)
        (date(2024, 2, 8), False),
    ],  # Thursday before Spring Festival
)
def test_has_night_session(cal: TradingCalendar, day: date, expected: bool) -> None:
    assert cal.has_night_session(day) is expected


# --- trading day of a timestamp ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-09-27 21:30", date(2024, 9, 30)),  # Friday night -> Monday
        ("2024-09-28 00:30", date(2024, 9, 30)),  # Saturday after midnight -> Monday
        ("2024-09-29 12:00", date(2024, 9, 30)),  # Sunday
        ("2024-09-30 10:00", date(2024, 9, 30)),
        ("2024-09-30 21:30", date(2024, 10, 8)),  # evening before National Day
        ("2024-10-03 10:00", date(2024, 10, 8)),  # inside the holiday
        ("2024-10-07 21:00", date(2024, 10, 8)),  # holiday Monday evening
        ("2024-10-08 09:00", date(2024, 10, 8)),  # first day after the holiday
        ("2024-10-08 21:00", date(2024, 10, 9)),
        ("2024-10-09 01:00", date(2024, 10, 9)),
        ("2024-09-30 17:59:59.999999", date(2024, 9, 30)),
        ("2024-09-30 18:00", date(2024, 10, 8)),
        ("2024-09-26 18:00", date(2024, 9, 27)),
        ("2024-09-26 17:59:59.999999", date(2024, 9, 26)),
    ],
)
def test_trading_day_of(cal: TradingCalendar, text: str, expected: date) -> None:
    ns = bj(text)
    assert cal.trading_day_of(ns) == expected
    assert cal.trading_days_of(np.array([ns]))[0] == np.datetime64(expected, "D")


def test_18h_boundary_to_the_nanosecond(cal: TradingCalendar) -> None:
    six_pm = bj("2024-09-26 18:00")
    assert cal.trading_day_of(six_pm - 1) == date(2024, 9, 26)
    assert cal.trading_day_of(six_pm) == date(2024, 9, 27)
    out = cal.trading_days_of(np.array([six_pm - 1, six_pm], dtype=np.int64))
    assert out.tolist() == [date(2024, 9, 26), date(2024, 9, 27)]


def _random_ns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform instants over 2023-12-25..2025-01-05 plus instants a few ns around session edges."""
    lo, hi = bj("2023-12-25 00:00"), bj("2025-01-05 00:00")
    uniform = rng.integers(lo, hi, size=n, dtype=np.int64)
    edges_min = np.array([0, 540, 615, 630, 690, 810, 900, 1080, 1260, 1439, 1440, 1500 - 1440, 1590 - 1440])
    day0 = rng.integers(0, (hi - lo) // NS_PER_DAY, size=n)
    jitter = rng.integers(-2, 3, size=n)
    edges = lo + day0 * NS_PER_DAY + rng.choice(edges_min, size=n) * NS_PER_MINUTE + jitter
    return np.concatenate([uniform, edges])


def test_trading_days_of_matches_scalar(cal: TradingCalendar) -> None:
    ns = _random_ns(np.random.default_rng(7), 1500)
    vec = cal.trading_days_of(ns)
    assert vec.dtype == np.dtype("datetime64[D]") and vec.shape == ns.shape
    assert vec.tolist() == [cal.trading_day_of(int(x)) for x in ns]
    assert cal.trading_days_of(ns.reshape(-1, 2)).shape == (ns.size // 2, 2)
    assert cal.trading_days_of(np.array([], dtype=np.int64)).shape == (0,)


def test_trading_days_of_accepts_datetime64_and_rejects_float(cal: TradingCalendar) -> None:
    ns = bj("2024-09-27 21:30")
    out = cal.trading_days_of(np.array([ns], dtype="datetime64[ns]"))
    assert out[0] == np.datetime64("2024-09-30")
    with pytest.raises(CalendarError, match="float64"):
        cal.trading_days_of(np.array([float(ns)]))


# --- sessions ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "cu", "au_ag"),
    [
        ("2024-09-26 21:00", "night", "night"),
        ("2024-09-26 20:59:59.999999", None, None),
        ("2024-09-27 00:59:59.999999", "night", "night"),
        ("2024-09-27 01:00", None, "night"),  # cu night ends 01:00
        ("2024-09-27 02:29:59.999999", None, "night"),
        ("2024-09-27 02:30", None, None),  # au/ag night ends 02:30
        ("2024-09-27 08:59:59.999999", None, None),
        ("2024-09-27 09:00", "day", "day"),
        ("2024-09-27 10:14:59.999999", "day", "day"),
        ("2024-09-27 10:15", None, None),
        ("2024-09-27 10:30", "day", "day"),
        ("2024-09-27 11:30", None, None),
        ("2024-09-27 13:30", "day", "day"),
        ("2024-09-27 14:59:59.999999", "day", "day"),
        ("2024-09-27 15:00", None, None),
        ("2024-09-27 21:30", "night", "night"),  # Friday night
        ("2024-09-28 00:30", "night", "night"),  # ... after midnight on Saturday
        ("2024-09-28 02:00", None, "night"),
        ("2024-09-28 10:00", None, None),  # Saturday day time
        ("2024-09-30 21:30", None, None),  # evening before National Day: no night
        ("2024-10-01 00:30", None, None),
        ("2024-10-03 10:00", None, None),  # holiday
        ("2024-10-07 21:30", None, None),  # holiday evening
        ("2024-10-08 00:30", None, None),  # no night before the first day after
        ("2024-10-08 09:30", "day", "day"),
        ("2024-10-08 21:30", "night", "night"),
    ],
)
def test_session_of_each_variety(cal: TradingCalendar, text: str, cu: str | None, au_ag: str | None) -> None:
    ns = bj(text)
    assert cal.session_of(ns, CU) == cu
    assert cal.session_of(ns, AU) == au_ag
    assert cal.session_of(ns, AG) == au_ag
    codes = {None: SESSION_NONE, "day": SESSION_DAY, "night": SESSION_NIGHT}
    for spec, want in ((CU, cu), (AU, au_ag), (AG, au_ag)):
        assert cal.session_codes(np.array([ns]), spec)[0] == codes[want]
        assert cal.is_in_session_mask(np.array([ns]), spec)[0] == (want is not None)
        assert TradingCalendar.session_name(codes[want]) == want


def test_end_grace_keeps_closing_snapshot(cal: TradingCalendar) -> None:
    close = bj("2024-09-27 15:00:00.500000")
    night_end = bj("2024-09-28 01:00:00.200000")
    grace = NS_PER_MINUTE // 60  # one second
    assert cal.session_of(close, CU) is None
    assert cal.session_of(close, CU, end_grace_ns=grace) == "day"
    assert cal.session_of(night_end, CU, end_grace_ns=grace) == "night"
    mask = cal.is_in_session_mask(np.array([close, night_end, close + grace]), CU, end_grace_ns=grace)
    assert mask.tolist() == [True, True, False]


@pytest.mark.parametrize("spec", [CU, AU, AG], ids=lambda s: s.variety)
def test_session_codes_match_scalar(cal: TradingCalendar, spec) -> None:
    ns = _random_ns(np.random.default_rng(11), 1500)
    names = {SESSION_NONE: None, SESSION_DAY: "day", SESSION_NIGHT: "night"}
    for grace in (0, 2):
        vec = cal.session_codes(ns, spec, end_grace_ns=grace)
        assert vec.dtype == np.int8
        assert [names[int(c)] for c in vec] == [cal.session_of(int(x), spec, end_grace_ns=grace) for x in ns]
        # the random sample must exercise every outcome, or the comparison proves little
        assert set(vec.tolist()) == {SESSION_NONE, SESSION_DAY, SESSION_NIGHT}
    assert cal.is_in_session_mask(ns.reshape(-1, 3), spec).shape == (ns.size // 3, 3)


def _fmt(windows: list[tuple[int, int]]) -> list[tuple[str, str]]:
    return [(str(ns_to_beijing_datetime(a)), str(ns_to_beijing_datetime(b))) for a, b in windows]


def test_session_windows_ns(cal: TradingCalendar) -> None:
    assert _fmt(cal.session_windows_ns(date(2024, 9, 30), CU)) == [
        ("2024-09-27 21:00:00", "2024-09-28 01:00:00"),
        ("2024-09-30 09:00:00", "2024-09-30 10:15:00"),
        ("2024-09-30 10:30:00", "2024-09-30 11:30:00"),
        ("2024-09-30 13:30:00", "2024-09-30 15:00:00"),
    ]
    assert _fmt(cal.session_windows_ns(date(2024, 10, 9), AU))[0] == ("2024-10-08 21:00:00", "2024-10-09 02:30:00")
    # the first day after National Day has no night session before it
    assert _fmt(cal.session_windows_ns(date(2024, 10, 8), AG)) == [
        ("2024-10-08 09:00:00", "2024-10-08 10:15:00"),
        ("2024-10-08 10:30:00", "2024-10-08 11:30:00"),
        ("2024-10-08 13:30:00", "2024-10-08 15:00:00"),
    ]
    assert cal.session_windows_ns(date(2024, 10, 3), CU) == []
    assert cal.session_windows_ns(date(2024, 9, 28), CU) == []


def test_session_windows_agree_with_session_of_and_trading_day(cal: TradingCalendar) -> None:
    ns = _random_ns(np.random.default_rng(3), 1000)
    for spec in (CU, AU):
        for x in ns.tolist():
            td = cal.trading_day_of(x)
            inside = any(a <= x < b for a, b in cal.session_windows_ns(td, spec))
            assert inside == (cal.session_of(x, spec) is not None), ns_to_beijing_datetime(x)


def test_windows_are_ordered_and_disjoint(cal: TradingCalendar) -> None:
    for td in cal.trading_days(date(2024, 1, 1), date(2024, 12, 31)):
        for spec in (CU, AU):
            w = cal.session_windows_ns(td, spec)
            flat = [t for pair in w for t in pair]
            assert flat == sorted(flat) and len(set(flat)) == len(flat)
            assert len(w) == 3 + cal.has_night_session(cal.previous_trading_day(td))
            assert all(cal.trading_day_of(a) == td and cal.trading_day_of(b - 1) == td for a, b in w)


def test_holidays_property_and_repr(cal: TradingCalendar) -> None:
    assert date(2024, 10, 7) in cal.holidays
    assert "20 holidays" in repr(cal)
    assert cal.next_trading_day(date(2024, 10, 7)) - date(2024, 10, 7) == timedelta(days=1)
