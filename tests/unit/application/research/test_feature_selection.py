"""SelectFeatures on a planted frame: mutual information ranks the signal first, the
correlation filter drops a near-copy, recursive elimination with walk-forward CV keeps the
signal, the set is stored by name and generated features are registered with their lineage;
GeneratedFrameSource computes generated columns from their parents."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pytest

from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.lightgbm.explain import LightGBMTreeShap
from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.memory import InMemoryDatasetStore
from ghtrader.adapters.memory.feature_sets import InMemoryFeatureSetStore
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.models import FeatureFrame
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.application.research.feature_selection import SelectFeatures, SelectRequest
from ghtrader.application.research.generated_frames import GeneratedFrameSource
from ghtrader.application.research.tabular import select_features
from ghtrader.domain.factors.generated import compute_generated, parse_generated
from tests.fakes.system import FakeClock
from tests.fakes.tabular_frames import planted_frame
from tests.unit.application.research.train_world import PROVENANCE

FAST = {"num_boost_round": 40, "early_stopping_rounds": 5, "learning_rate": 0.2, "num_threads": 1}


@dataclass
class ColumnFrames:
    """FrameSource serving the named columns of one frame."""

    frame: FeatureFrame

    def load(self, symbol, ticks_lake, start_day, end_day, horizon, feature_names):  # type: ignore[no-untyped-def]
        return select_features(self.frame, feature_names), PROVENANCE


@pytest.fixture(scope="module")
def frame() -> FeatureFrame:
    f = planted_frame(6000, 5, seed=3, days=5, nan_fraction=0.0)
    near_copy = f.features[:, 0] + np.random.default_rng(1).normal(0, 0.01, len(f)).astype(np.float32)
    return replace(f, features=np.column_stack([f.features, near_copy]), feature_names=(*f.feature_names, "x0_copy"))


def _select(frame: FeatureFrame, **kw):  # type: ignore[no-untyped-def]
    store, datasets = InMemoryFeatureSetStore(), InMemoryDatasetStore()
    select = SelectFeatures(
        frames=GeneratedFrameSource(ColumnFrames(frame)),
        families=FamilyRegistry([LightGBMFamily(), LogisticFamily()]),
        attributors={"lightgbm": LightGBMTreeShap()},
        store=store,
        clock=FakeClock(),
        datasets=datasets,
    )
    base = SelectRequest(
        name="planted", symbol="SHFE.cu2612", start_day=date(2026, 11, 2), end_day=date(2026, 11, 6),
        candidates=frame.feature_names, n_splits=2, min_features=2, rfe_drop=0.4, params=FAST,
    )  # fmt: skip
    return select(replace(base, **kw)), store, datasets


def test_selection_keeps_the_signal_and_stores_the_set(frame: FeatureFrame) -> None:
    r, store, _ = _select(frame)
    assert set(list(r.mutual_information)[:2]) == {"x0", "x0_copy"}  # the strongest signal and its copy
    ((dropped, kept),) = r.dropped_correlated.items()  # one of the two goes, in favour of the other
    assert {dropped, kept} == {"x0", "x0_copy"}
    assert {kept, "x1"} <= set(r.features)
    assert [len(x["features"]) for x in r.rounds] == sorted((len(x["features"]) for x in r.rounds), reverse=True)
    assert len(r.rounds[-1]["features"]) == 2 and all(len(x["fold_log_loss"]) == 2 for x in r.rounds)
    best = r.rounds[r.best_round]["cv_log_loss"]
    assert best <= min(x["cv_log_loss"] for x in r.rounds) + 1e-4
    top2 = list(r.rounds[0]["importance"])[:2]
    assert set(top2) == {kept, "x1"}  # TreeSHAP ranks the planted features first
    stored = store.get("planted")
    assert stored is not None and list(stored.features) == r.features and stored.horizon == 10
    assert stored.selection["best_round"] == r.best_round


def test_permutation_ranking_for_a_family_without_attributor(frame: FeatureFrame) -> None:
    r, _, _ = _select(frame, family="logistic", max_corr=0.9, params={"l2_path": [0.01]})
    assert set(list(r.rounds[0]["importance"])[:2]) == {"x1", *r.dropped_correlated.values()}


def test_generated_candidates_and_their_registry_rows(frame: FeatureFrame) -> None:
    r, _, datasets = _select(frame, candidates=("x0", "x1", "x2"), generate=True, max_pairs=1, min_features=6)
    assert r.candidates == 3 + 3 * 8 + 1  # 8 unary operators per parent, one product
    generated = [f for f in r.features if f.startswith("gen__")]
    assert r.registered_generated == generated
    rows = {d.feature_name: d for d in datasets.feature_registry()}
    for name in generated:
        spec = parse_generated(name)
        assert rows[name].input_columns == spec.parents and rows[name].definition_hash == spec.definition_hash


def test_generated_frame_source_computes_from_parents(frame: FeatureFrame) -> None:
    names = ("x1", "gen__ewm20__x0", "gen__mul__x0__x2")
    got, _ = GeneratedFrameSource(ColumnFrames(frame)).load(
        "s", "main_l5", date(2026, 11, 2), date(2026, 11, 6), 10, names
    )
    assert got.feature_names == names
    want = compute_generated(
        frame.features[:, [0, 2]], ("x0", "x2"), frame.segment_id, [parse_generated(n) for n in names[1:]]
    )
    np.testing.assert_array_equal(got.features[:, 1:], want)
    np.testing.assert_array_equal(got.features[:, 0], frame.features[:, 1])
    with pytest.raises(InvalidArgument):
        GeneratedFrameSource(ColumnFrames(frame)).load(
            "s", "main_l5", date(2026, 11, 2), date(2026, 11, 6), 10, ("gen__pow2__x0",)
        )


def test_bad_requests_are_refused(frame: FeatureFrame) -> None:
    with pytest.raises(InvalidArgument, match="feature set name"):
        _select(frame, name="../x")
    with pytest.raises(InvalidArgument, match="generated ones"):
        _select(frame, candidates=("gen__lag1__x0",))
