"""QueryService over a real in-process gRPC server: typed values, caps, refusals, and the CLI."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from contextlib import AbstractContextManager

import pytest

from ghtrader.application.ports.query import QueryColumn
from ghtrader.application.query import RunQuery
from ghtrader.interfaces.cli import CliHooks, ConnectionDefaults, run
from ghtrader.interfaces.client import ApiError, GhTraderClient
from ghtrader.interfaces.grpc.server import GrpcServer, ServerOptions
from ghtrader.interfaces.grpc.servicers.query import query_service
from tests.fakes.query import InMemoryReadOnlyQuery
from tests.fakes.system import FakeClock

COLUMNS = tuple(
    QueryColumn(n, t)
    for n, t in [("n", "text"), ("b", "bool"), ("i", "int8"), ("f", "float8"), ("s", "text"), ("raw", "bytea")]
)
ROWS = [(None, True, 2**62, 1.5, "a,b", b"\x00\x01"), ("x", False, -1, math.nan, "", b"")]


@pytest.fixture
def served() -> Iterator[tuple[str, InMemoryReadOnlyQuery]]:
    store = InMemoryReadOnlyQuery(columns=COLUMNS, rows=list(ROWS))
    server = GrpcServer(ServerOptions(host="127.0.0.1", port=0), [query_service(lambda: RunQuery(store, FakeClock()))])
    server.start()
    try:
        yield server.target, store
    finally:
        server.stop(grace_s=0)


def test_values_arrive_typed_with_explicit_nulls(served: tuple[str, InMemoryReadOnlyQuery]) -> None:
    target, store = served
    with GhTraderClient(target) as client:
        r = client.run_query("SELECT * FROM t -- why\n")
    assert store.statements == ["SELECT * FROM t"]
    assert r["columns"] == [{"name": c.name, "type": c.type_name} for c in COLUMNS]
    assert r["rows"][0] == [None, True, 2**62, 1.5, "a,b", b"\x00\x01"]
    assert r["rows"][1][:3] == ["x", False, -1] and math.isnan(r["rows"][1][3]) and r["rows"][1][4:] == ["", b""]
    assert (r["row_count"], r["truncated"], r["max_rows"], r["timeout_s"]) == (2, False, 1000, 5.0)
    assert r["statement"] == "SELECT * FROM t" and r["store"] == "in-memory"


def test_caps_are_sent_and_zero_means_zero(served: tuple[str, InMemoryReadOnlyQuery]) -> None:
    target, store = served
    with GhTraderClient(target) as client:
        r = client.run_query("SELECT 1", max_rows=1, timeout_s=0.5)
        assert (r["row_count"], r["truncated"], r["truncated_by"], r["timeout_s"]) == (1, True, "max_rows", 0.5)
        with pytest.raises(ApiError, match="max_rows") as refused:
            client.run_query("SELECT 1", max_rows=0)
    assert refused.value.code == "INVALID_ARGUMENT" and len(store.statements) == 1


def test_a_refused_statement_is_invalid_argument_and_never_reaches_the_store(
    served: tuple[str, InMemoryReadOnlyQuery],
) -> None:
    target, store = served
    with GhTraderClient(target) as client, pytest.raises(ApiError, match="exactly one statement") as refused:
        client.run_query("SELECT 1; DROP TABLE t")
    assert refused.value.code == "INVALID_ARGUMENT" and store.statements == []


def _no_local() -> AbstractContextManager[str]:
    raise AssertionError("not expected")


def _cli(target: str, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    host, port = target.rsplit(":", 1)
    code = run(
        list(argv),
        defaults=ConnectionDefaults(host=host, port=int(port)),
        hooks=CliHooks(serve=lambda h, p: 0, local_server=_no_local),
        stdout=out,
        stderr=err,
    )
    return code, out.getvalue(), err.getvalue()


def test_cli_formats(served: tuple[str, InMemoryReadOnlyQuery]) -> None:
    target, _ = served
    code, out, err = _cli(target, "query", "--format", "csv", "SELECT * FROM t")
    assert code == 0 and "2 rows in" in err
    assert list(csv.reader(io.StringIO(out))) == [
        ["n", "b", "i", "f", "s", "raw"],
        ["", "true", str(2**62), "1.5", "a,b", "\\x0001"],
        ["x", "false", "-1", "nan", "", "\\x"],
    ]
    code, out, _ = _cli(target, "query", "SELECT * FROM t", "--limit", "1")
    lines = out.splitlines()
    assert (
        code == 0 and lines[0].split() == ["n", "b", "i", "f", "s", "raw"] and lines[2].split()[:2] == ["NULL", "true"]
    )
    code, out, _ = _cli(target, "--json", "query", "SELECT * FROM t")
    payload = json.loads(out)
    assert code == 0 and payload["rows"][0] == [None, True, 2**62, 1.5, "a,b", "\\x0001"]
    assert payload["rows"][1][3] is None  # NaN has no JSON form


def test_cli_refusal_exits_2_with_the_reason(served: tuple[str, InMemoryReadOnlyQuery]) -> None:
    code, _, err = _cli(served[0], "query", "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x")
    assert code == 2 and "query refused: DELETE removes rows" in err
