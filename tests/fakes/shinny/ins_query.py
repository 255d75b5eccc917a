"""Just enough GraphQL to answer TqSdk's ``ins_query`` packets.

TqSdk (through sgqlc) sends ``query { multi_symbol_info(class: [FUTURE], exchange_id: ["SHFE"],
product_id: ["cu"], expired: false) { ... } }`` with literal arguments, or
``query rootQuery($instrument_id: [String]) { multi_symbol_info(instrument_id: $instrument_id) ...}``
with a ``variables`` object. Only the arguments of ``multi_symbol_info`` matter to the fake: the
selection set is ignored and whole instrument records are returned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

_ARGS_RE = re.compile(r"multi_symbol_info\s*\(([^)]*)\)", re.S)
_ARG_RE = re.compile(r"(\w+)\s*:\s*(\[[^\]]*\]|\$\w+|\"(?:[^\"\\]|\\.)*\"|[\w.-]+)")
_ITEM_RE = re.compile(r"\"(?:[^\"\\]|\\.)*\"|[\w.-]+")


def _value(token: str, variables: Mapping[str, Any]) -> Any:
    if token.startswith("$"):
        return variables.get(token[1:])
    if token.startswith("["):
        return [_value(t, variables) for t in _ITEM_RE.findall(token[1:-1])]
    if token.startswith('"'):
        return json.loads(token)
    if token in ("true", "false"):
        return token == "true"
    if token == "null":
        return None
    try:
        return int(token)
    except ValueError:
        return token  # a bare enum such as FUTURE


def query_arguments(query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The arguments of ``multi_symbol_info`` in ``query`` (``{}`` when it has none).

    Raises:
        ValueError: the query does not call ``multi_symbol_info``.
    """
    m = _ARGS_RE.search(query)
    if m is None:
        if "multi_symbol_info" in query:
            return {}
        raise ValueError("query does not call multi_symbol_info")
    return {name: _value(tok, variables or {}) for name, tok in _ARG_RE.findall(m.group(1))}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _has_night(record: Mapping[str, Any]) -> bool:
    return bool((record.get("trading_time") or {}).get("night"))


def select(records: Iterable[Mapping[str, Any]], args: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Records matching every filter TqSdk sends (class, exchange_id, product_id, expired,
    has_night, instrument_id); unknown arguments (e.g. ``timestamp``) do not filter."""
    out = []
    for r in records:
        if "class" in args and r.get("class") not in _as_list(args["class"]):
            continue
        if "exchange_id" in args and r.get("exchange_id") not in _as_list(args["exchange_id"]):
            continue
        if "product_id" in args and r.get("product_id") not in _as_list(args["product_id"]):
            continue
        if "instrument_id" in args and r.get("instrument_id") not in _as_list(args["instrument_id"]):
            continue
        if args.get("expired") is not None and bool(r.get("expired")) != args["expired"]:
            continue
        if args.get("has_night") is not None and _has_night(r) != args["has_night"]:
            continue
        out.append(r)
    return out
