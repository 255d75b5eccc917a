"""FamilyRegistry: the ModelFamilies lookup."""

from __future__ import annotations

import pytest

from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.linear import LogisticFamily
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.research.families import FamilyRegistry


def test_register_get_and_names_in_order() -> None:
    registry = FamilyRegistry([LogisticFamily()])
    lgbm = LightGBMFamily()
    registry.register(lgbm)
    assert registry.names() == ["logistic", "lightgbm"]
    assert registry.get("lightgbm") is lgbm and "logistic" in registry and len(registry) == 2


def test_unknown_name_lists_the_known_ones() -> None:
    registry = FamilyRegistry([LogisticFamily(), LightGBMFamily()])
    with pytest.raises(InvalidArgument, match=r"unknown model family 'xgb'.*logistic, lightgbm"):
        registry.get("xgb")
    with pytest.raises(InvalidArgument, match="known families: none"):
        FamilyRegistry().get("logistic")


def test_a_name_is_registered_once() -> None:
    registry = FamilyRegistry([LogisticFamily()])
    with pytest.raises(InvalidArgument, match="already registered"):
        registry.register(LogisticFamily())
