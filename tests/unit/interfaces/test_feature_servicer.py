"""FeatureService: select request defaults and refusals, the stored sets over the unary RPCs,
and `@name` in a research scope resolving to a stored set."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from ghtrader.adapters.memory.feature_sets import InMemoryFeatureSetStore
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.feature_sets import FeatureSet
from ghtrader.domain.factors import CORE_L5_FACTORS, factor_names
from ghtrader.interfaces.grpc.servicers.features import FeatureServicer, FeatureUseCases, select_request
from ghtrader.interfaces.grpc.servicers.research import parse_scope
from ghtrader.v1 import features_pb2, research_pb2


def _unused() -> Any:
    raise AssertionError("selection must not run here")


def test_select_request_defaults_and_refusals() -> None:
    r = select_request(features_pb2.SelectFeaturesRequest(name="s", start_day="2026-10-13", end_day="2026-10-20"))
    assert (r.symbol, r.ticks_lake, r.horizon, r.family, r.start_day) == (
        "KQ.m@SHFE.cu", "main_l5", 10, "lightgbm", date(2026, 10, 13),
    )  # fmt: skip
    assert r.candidates == tuple(CORE_L5_FACTORS) and (r.max_corr, r.rfe_drop, r.min_features) == (0.95, 0.25, 5)
    every = select_request(
        features_pb2.SelectFeaturesRequest(
            name="s", symbol="SHFE.cu2612", start_day="2026-10-13", end_day="2026-10-20", candidates=["all"], min_mi=0
        )
    )
    assert every.candidates == tuple(factor_names()) and every.ticks_lake == "raw" and every.min_mi == 0.0
    for bad, match in (
        (features_pb2.SelectFeaturesRequest(start_day="2026-10-13", end_day="2026-10-20"), "name is required"),
        (features_pb2.SelectFeaturesRequest(name="a/b", start_day="2026-10-13", end_day="2026-10-20"), "set name"),
        (
            features_pb2.SelectFeaturesRequest(name="s", start_day="2026-10-13", end_day="2026-10-20", max_corr=0),
            "max_corr",
        ),
    ):
        with pytest.raises(InvalidArgument, match=match):
            select_request(bad)


def test_sets_over_the_unary_rpcs_and_scope_resolution() -> None:
    store = InMemoryFeatureSetStore()
    store.save(FeatureSet("mine", ("obi_l1", "gen__lag1__obi_l1"), 5, "KQ.m@SHFE.cu", 10, {"best_round": 2}))
    servicer = FeatureServicer(FeatureUseCases(select=_unused, store=lambda: store))
    listed = servicer.ListFeatureSets(features_pb2.ListFeatureSetsRequest(), None)
    assert [(s.name, list(s.features), s.selection_json) for s in listed.sets] == [
        ("mine", ["obi_l1", "gen__lag1__obi_l1"], "")
    ]
    one = servicer.GetFeatureSet(features_pb2.GetFeatureSetRequest(name="mine"), None)
    assert json.loads(one.selection_json) == {"best_round": 2}
    with pytest.raises(NotFound):
        servicer.GetFeatureSet(features_pb2.GetFeatureSetRequest(name="other"), None)

    scope = research_pb2.ResearchScope(features=["spread_ticks", "@mine", "obi_l1"])
    assert parse_scope(scope, lambda: store).features == ("spread_ticks", "obi_l1", "gen__lag1__obi_l1")
    with pytest.raises(NotFound, match="no feature set 'nope'"):
        parse_scope(research_pb2.ResearchScope(features=["@nope"]), lambda: store)
    (spec,) = servicer.job_specs()
    assert spec.command == "SelectFeatures" and spec.locks(features_pb2.SelectFeaturesRequest()) == ()
