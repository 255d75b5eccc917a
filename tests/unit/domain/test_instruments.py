"""Symbols, parsing/formatting and contract specs."""

from __future__ import annotations

import dataclasses

import pytest

from ghtrader.domain.errors import DomainError, InvalidSymbolError
from ghtrader.domain.instruments import (
    CONTRACT_SPECS,
    ContinuousSymbol,
    ContractSymbol,
    SessionWindow,
    continuous_symbol,
    contract_spec,
    format_contract,
    parse_contract,
    parse_symbol,
    variety_key,
)


@pytest.mark.parametrize(
    ("text", "variety", "year", "month"),
    [
        ("SHFE.cu2602", "cu", 2026, 2),
        ("SHFE.au2012", "au", 2020, 12),
        ("SHFE.ag0001", "ag", 2000, 1),
        ("SHFE.cu9912", "cu", 2099, 12),
    ],
)
def test_parse_contract_fields_and_round_trip(text: str, variety: str, year: int, month: int) -> None:
    parsed = parse_symbol(text)
    assert parsed == ContractSymbol("SHFE", variety, year, month)
    assert parsed.symbol == text == str(parsed)
    assert parsed.yymm == text[-4:]
    assert parse_contract(text) == parsed
    assert format_contract("SHFE", variety, year, month) == text
    assert parse_symbol(format_contract("SHFE", variety, year, month)) == parsed


def test_continuous_round_trip() -> None:
    parsed = parse_symbol("KQ.m@SHFE.au")
    assert parsed == ContinuousSymbol("SHFE", "au")
    assert parsed.symbol == "KQ.m@SHFE.au" == continuous_symbol("SHFE", "au")
    assert parsed.variety_key == "SHFE.au"


def test_expiry_month_index_orders_contracts_across_years() -> None:
    symbols = ["SHFE.cu2601", "SHFE.cu2512", "SHFE.cu2602", "SHFE.cu2511"]
    ordered = sorted(symbols, key=lambda s: parse_contract(s).expiry_month_index)
    assert ordered == ["SHFE.cu2511", "SHFE.cu2512", "SHFE.cu2601", "SHFE.cu2602"]
    assert parse_contract("SHFE.cu2601").expiry_month_index - parse_contract("SHFE.cu2512").expiry_month_index == 1
    assert parse_contract("SHFE.cu2602").expiry_month_index == 2026 * 12 + 1


@pytest.mark.parametrize(
    "text",
    [
        "SHFE.cu26",
        "SHFE.cu2613",
        "SHFE.cu2600",
        "shfe.cu2602",
        "SHFE.CU2602",
        "SHFE.cu02602",
        " SHFE.cu2602",
        "SHFE.cu2602 ",
        "SHFE_cu2602",
        "cu2602",
        "SHFE.2602",
        "KQ.m@SHFE.cu2602",
        "KQ.m@SHFE",
        "KQ.i@SHFE.cu",
        "SHFE.cu2602.x",
        "",
        "DCE.m2405",
        "KQ.m@DCE.m",
        "SHFE.c1u2602",
        "SHFE.ću2602",
    ],
)
def test_parse_symbol_rejects_and_names_input(text: str) -> None:
    with pytest.raises(InvalidSymbolError) as info:
        parse_symbol(text)
    assert repr(text) in str(info.value)
    assert "expected" in str(info.value)


def test_parse_symbol_message_example() -> None:
    with pytest.raises(InvalidSymbolError, match=r"invalid symbol 'SHFE\.cu26': expected EXCHANGE\.varietyYYMM"):
        parse_symbol("SHFE.cu26")


def test_parse_symbol_rejects_non_string() -> None:
    with pytest.raises(InvalidSymbolError, match="2602"):
        parse_symbol(2602)  # type: ignore[arg-type]


def test_parse_contract_rejects_continuous() -> None:
    with pytest.raises(InvalidSymbolError, match=r"'KQ\.m@SHFE\.cu'.*continuous"):
        parse_contract("KQ.m@SHFE.cu")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("SHFE", "cu", 26, 2), "26"),
        (("SHFE", "cu", 2026, 13), "13"),
        (("SHFE", "cu", 2026, 0), "month"),
        (("SHFE", "Cu", 2026, 2), "'Cu'"),
        (("DCE", "m", 2026, 2), "'DCE'"),
        (("SHFE", "cu", 2100, 1), "2100"),
    ],
)
def test_format_contract_rejects(args: tuple, needle: str) -> None:
    with pytest.raises(InvalidSymbolError, match=needle):
        format_contract(*args)


def test_continuous_symbol_rejects_bad_variety() -> None:
    with pytest.raises(InvalidSymbolError, match="'cu1'"):
        continuous_symbol("SHFE", "cu1")


def test_errors_are_value_errors() -> None:
    assert issubclass(InvalidSymbolError, DomainError)
    assert issubclass(DomainError, ValueError)


@pytest.mark.parametrize("text", ["SHFE.cu2602", "KQ.m@SHFE.cu", "SHFE.cu"])
def test_variety_key(text: str) -> None:
    assert variety_key(text) == "SHFE.cu"


@pytest.mark.parametrize("text", ["SHFE.cu26", "cu", "SHFE.", "KQ.m@SHFE"])
def test_variety_key_rejects(text: str) -> None:
    with pytest.raises(InvalidSymbolError, match=repr(text).replace(".", r"\.")):
        variety_key(text)


def test_symbols_are_frozen_and_hashable() -> None:
    c = parse_contract("SHFE.cu2602")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.month = 3  # type: ignore[misc]
    assert len({c, parse_contract("SHFE.cu2602"), parse_symbol("KQ.m@SHFE.cu")}) == 2


# --- specs ------------------------------------------------------------------------------------
def test_specs_keys_and_values() -> None:
    assert set(CONTRACT_SPECS) == {"SHFE.cu", "SHFE.au", "SHFE.ag"}
    cu, au, ag = CONTRACT_SPECS["SHFE.cu"], CONTRACT_SPECS["SHFE.au"], CONTRACT_SPECS["SHFE.ag"]
    assert (cu.price_tick, cu.multiplier, cu.name) == (10.0, 5.0, "copper")
    assert (au.price_tick, au.multiplier, au.name) == (0.02, 1000.0, "gold")
    assert (ag.price_tick, ag.multiplier, ag.name) == (1.0, 15.0, "silver")
    assert cu.night_session == SessionWindow(1260, 1500)
    assert au.night_session == ag.night_session == SessionWindow(1260, 1590)
    for spec in (cu, au, ag):
        assert spec.key == f"{spec.exchange}.{spec.variety}"
        assert spec.listed_months == tuple(range(1, 13))
        assert [str(w) for w in spec.day_sessions] == ["09:00-10:15", "10:30-11:30", "13:30-15:00"]
        assert spec.night_session is not None and spec.night_session.crosses_midnight


def test_spec_mapping_is_read_only() -> None:
    with pytest.raises(TypeError):
        CONTRACT_SPECS["SHFE.zn"] = CONTRACT_SPECS["SHFE.cu"]  # type: ignore[index]


@pytest.mark.parametrize("text", ["SHFE.cu", "SHFE.cu2602", "KQ.m@SHFE.cu"])
def test_contract_spec_lookup(text: str) -> None:
    spec = contract_spec(text)
    assert spec is CONTRACT_SPECS["SHFE.cu"]
    assert spec.continuous_symbol == "KQ.m@SHFE.cu"
    assert spec.contract(2026, 2) == "SHFE.cu2602"


def test_contract_spec_unknown_variety() -> None:
    with pytest.raises(InvalidSymbolError, match=r"'SHFE\.zn2602'.*'SHFE\.zn'"):
        contract_spec("SHFE.zn2602")


@pytest.mark.parametrize(("start", "end"), [(-1, 10), (10, 10), (20, 10), (0, 2881)])
def test_session_window_rejects(start: int, end: int) -> None:
    with pytest.raises(DomainError, match=f"{start}"):
        SessionWindow(start, end)
