"""ExplainService: the request's defaults and refusals, and Explain is a job (no locks)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ghtrader.application.errors import InvalidArgument
from ghtrader.interfaces.grpc.servicers.explain import ExplainServicer, explain_request
from ghtrader.v1 import explain_pb2


def _unused() -> Any:
    raise AssertionError("a use case must not be built to describe a job")


def test_defaults_for_unset_fields() -> None:
    r = explain_request(explain_pb2.ExplainRequest(model_id="m", day="2026-10-21"))
    assert (r.day, r.end_day, r.version, r.tick_ts_ns, r.method) == (
        date(2026, 10, 21),
        date(2026, 10, 21),
        None,
        None,
        "auto",
    )
    assert (r.max_rows, r.steps, r.permutation_repeats, r.permutation_rows, r.top_k) == (None, 32, 3, 20_000, 20)


def test_given_fields_are_used_and_bad_ones_refused() -> None:
    r = explain_request(
        explain_pb2.ExplainRequest(
            model_id="m", version="2", day="2026-10-20", end_day="2026-10-21", tick_ts_ns=0, method="ig", steps=8
        )
    )
    assert r.tick_ts_ns == 0 and r.method == "ig" and r.steps == 8 and r.version == "2"
    for bad, match in (
        (explain_pb2.ExplainRequest(day="2026-10-21"), "model_id"),
        (explain_pb2.ExplainRequest(model_id="m"), "day is required"),
        (explain_pb2.ExplainRequest(model_id="m", day="2026-10-21", steps=0), "steps must be >= 1"),
        (explain_pb2.ExplainRequest(model_id="m", day="2026-10-21", method="lime"), "method must be one of"),
        (explain_pb2.ExplainRequest(model_id="m", day="2026-10-21", end_day="2026-10-20"), "before day"),
    ):
        with pytest.raises(InvalidArgument, match=match):
            explain_request(bad)


def test_explain_is_a_job_without_locks() -> None:
    (spec,) = ExplainServicer(_unused).job_specs()
    assert spec.command == "Explain" and spec.type_name == "ghtrader.v1.ExplainRequest"
    assert spec.locks(explain_pb2.ExplainRequest(model_id="m")) == ()
