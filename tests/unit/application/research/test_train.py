"""TrainModel: a full run (artifacts, meta, card, ONNX check, registry), time split with a
purge gap, and refusals that leave nothing behind."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.memory import InMemoryModelRegistry
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.models import FeatureFrame, RegistryEntry
from ghtrader.application.research.artifacts import load_model, read_meta
from ghtrader.application.research.families import FamilyRegistry
from ghtrader.application.research.train import split_by_time
from tests.fakes.tabular_frames import planted_frame

from .train_world import request, train_world


@pytest.fixture
def frame() -> FeatureFrame:
    return planted_frame(3000, 5, seed=11)


def test_a_run_writes_artifacts_and_registers_a_development_model(tmp_path: Path, frame: FeatureFrame) -> None:
    world = train_world(tmp_path, frame)
    names = ("x3", "x0", "x1")  # a subset, in another order than the frame's
    calls: list[tuple[int, int, str]] = []
    result = world.trainer(request(frame, feature_names=names), lambda d, t, m: calls.append((d, t, m)))

    assert world.frames.calls == [("SHFE.cu2612", "main_l5", date(2026, 11, 2), date(2026, 11, 4), 10, names)]
    entry = world.registry.get("logistic-SHFE.cu2612-h10", "1")
    assert entry == result.entry and entry.status == "development" and entry.model_type == "logistic"
    assert Path(entry.artifact_path) == result.artifact_dir == world.store.version_dir("logistic", "1")
    assert entry.metrics["accuracy"] > entry.metrics["majority_accuracy"] + 0.1
    assert sorted(world.store.files(result.artifact_dir)) == ["model.onnx", "model_card.md", "model_h10.meta.json"]
    assert calls[-1][0] == calls[-1][1] == 100 and [c[0] for c in calls] == sorted(c[0] for c in calls)

    meta = json.loads(result.meta_path.read_text())
    assert meta["enabled_factors"] == list(names) and meta["horizon"] == 10 and meta["window"] == 1
    assert (meta["feature_build_id"], meta["label_build_id"], meta["schedule_hash"]) == ("fb-1", "lb-1", "sched-abc")
    p = result.provenance  # the same provenance in the result (what a run manifest records)
    assert (p["feature_build_id"], p["label_build_id"], p["schedule_hash"], p["dataset_config_hash"]) == (
        "fb-1",
        "lb-1",
        "sched-abc",
        "ds-cfg-1",
    )
    assert p["rows"] == len(frame) and p["start_day"] == meta["data"]["start_day"] and p["ticks_lake"] == "main_l5"
    assert (meta["ticks_lake"], meta["lake_version"], meta["dataset_config_hash"]) == ("main_l5", "v2", "ds-cfg-1")
    assert meta["config_hash"] == entry.config_hash and len(entry.config_hash) == 64
    assert meta["git_commit"] == "abc123" and meta["git_dirty"] is True and meta["version"] == "1"
    assert meta["onnx"]["sha256"] == world.store.digest(result.onnx_path)
    assert meta["onnx"]["input"] == "raw_features" and meta["onnx"]["parity_max_abs_diff"] < 1e-5
    assert meta["normalization"]["kind"] == "standardize" and len(meta["normalization"]["mean"]) == 3
    data = meta["data"]
    assert data["train_rows"] + data["purge_gap"] + data["valid_rows"] == len(frame) == data["rows"]
    assert data["train"]["last_datetime_ns"] < data["valid"]["first_datetime_ns"]
    for relative, digest in meta["weights"]["files"].items():
        assert world.store.digest(result.artifact_dir / relative) == digest

    card = (result.artifact_dir / "model_card.md").read_text()
    for needle in (
        "## Intended use",
        "Research only",
        "## Architecture",
        "## Hyper-parameters",
        "## Data",
        "## Validation metrics",
        "## Limits",
        "`x3`, `x0`, `x1`",
        entry.config_hash,
    ):
        assert needle in card

    model, parsed = load_model(world.store, world.families, result.artifact_dir)
    assert parsed.feature_names == names and model.feature_names == names


def test_versions_count_up_per_model_type(tmp_path: Path, frame: FeatureFrame) -> None:
    world = train_world(tmp_path, frame)
    first = world.trainer(request(frame))
    second = world.trainer(request(frame, model_id="another"))
    gbm = world.trainer(request(frame, family="lightgbm"))
    assert (first.entry.version, second.entry.version, gbm.entry.version) == ("1", "2", "1")
    assert first.entry.config_hash == second.entry.config_hash  # same data and config (model_id aside)
    changed = world.trainer(request(frame, valid_fraction=0.3))
    assert changed.entry.version == "3" and changed.entry.config_hash != first.entry.config_hash
    assert [(e.model_id, e.version) for e in world.registry.list(model_type="logistic")] == [
        ("another", "2"),
        ("logistic-SHFE.cu2612-h10", "1"),
        ("logistic-SHFE.cu2612-h10", "3"),
    ]


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_tree_families_train_through_the_same_use_case(tmp_path: Path, frame: FeatureFrame, family: str) -> None:
    world = train_world(tmp_path, frame)
    result = world.trainer(request(frame, family=family))
    meta = read_meta(world.store, result.artifact_dir, 10)
    assert meta.family == family and meta.onnx_input == "raw_features"
    assert meta.raw["onnx"]["parity_max_abs_diff"] < 1e-5
    model, _ = load_model(world.store, world.families, result.artifact_dir)
    assert model.family == family and model.feature_names == frame.feature_names


def test_split_keeps_a_purge_gap_of_at_least_the_horizon(frame: FeatureFrame) -> None:
    train, valid = split_by_time(frame, 0.25, 37)
    first_valid = int(np.searchsorted(frame.datetime_ns, valid.datetime_ns[0]))
    last_train = int(np.searchsorted(frame.datetime_ns, train.datetime_ns[-1]))
    assert first_valid - last_train - 1 == 37 and len(valid) == 750
    with pytest.raises(InvalidArgument, match="shorter than the horizon"):
        request(frame, purge_gap=5).checked()


def _assert_refused(world, req, match: str, error: type[Exception] = InvalidArgument) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        world.trainer(req)
    assert world.nothing_written()


def test_empty_training_data_is_refused(tmp_path: Path, frame: FeatureFrame) -> None:
    unlabelled = replace(frame, labels=np.full(len(frame), np.nan))
    world = train_world(tmp_path, unlabelled)
    _assert_refused(world, request(unlabelled), "no labelled rows")
    empty = frame.take(np.arange(0))
    world = train_world(tmp_path, empty)
    _assert_refused(world, request(frame), "no rows")


def test_single_class_training_data_is_refused(tmp_path: Path, frame: FeatureFrame) -> None:
    flat = replace(frame, labels=np.where(np.isnan(frame.labels), np.nan, 1.0))
    world = train_world(tmp_path, flat)
    _assert_refused(world, request(flat), r"single class \(FLAT")


def test_horizon_longer_than_the_data_is_refused(tmp_path: Path, frame: FeatureFrame) -> None:
    short = replace(frame.take(np.arange(40)), horizon=50)
    world = train_world(tmp_path, short)
    _assert_refused(world, request(short, horizon=50), "longer than the data")


def test_missing_features_are_named(tmp_path: Path, frame: FeatureFrame) -> None:
    world = train_world(tmp_path, frame)
    _assert_refused(world, request(frame, feature_names=("x0", "ofi_l5", "x1", "spread_bp")), "ofi_l5, spread_bp")


def test_nan_only_columns_are_named(tmp_path: Path, frame: FeatureFrame) -> None:
    features = frame.features.copy()
    features[:, 2] = np.nan
    holed = replace(frame, features=features)
    world = train_world(tmp_path, holed)
    _assert_refused(world, request(holed), "NaN on every labelled training row: x2")


def test_unknown_family_and_wrong_horizon_are_refused(tmp_path: Path, frame: FeatureFrame) -> None:
    world = train_world(tmp_path, frame)
    _assert_refused(world, request(frame, family="catboost"), "known families: logistic, lightgbm, xgboost")
    assert world.frames.calls == []  # refused before reading data
    _assert_refused(world, request(frame, horizon=50), "horizon 10, not 50")


class _ExplodingExport(LogisticFamily):
    def fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        model = super().fit(*args, **kwargs)

        def export_onnx(path: Path):  # type: ignore[no-untyped-def]
            Path(path).write_bytes(b"partial")
            raise RuntimeError("exporter crashed")

        model.export_onnx = export_onnx  # type: ignore[method-assign]
        return model


class _WrongGraph(LogisticFamily):
    """Exports a graph of other weights than the model predicts with."""

    def fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        model = super().fit(*args, **kwargs)
        original = model.export_onnx

        def export_onnx(path: Path):  # type: ignore[no-untyped-def]
            model.weights = model.weights * 2.0
            try:
                return original(path)
            finally:
                model.weights = model.weights / 2.0

        model.export_onnx = export_onnx  # type: ignore[method-assign]
        return model


def test_a_crash_midway_leaves_nothing(tmp_path: Path, frame: FeatureFrame) -> None:
    world = train_world(tmp_path, frame, families=FamilyRegistry([_ExplodingExport()]))
    _assert_refused(world, request(frame), "exporter crashed", RuntimeError)


def test_an_onnx_graph_that_disagrees_is_refused(tmp_path: Path, frame: FeatureFrame) -> None:
    world = train_world(tmp_path, frame, families=FamilyRegistry([_WrongGraph()]))
    _assert_refused(world, request(frame), "disagrees with the model", FailedPrecondition)


class _FailingRegistry(InMemoryModelRegistry):
    def register(self, entry: RegistryEntry) -> None:
        raise FailedPrecondition("registry is read-only")


def test_a_registry_failure_unpublishes_the_version(tmp_path: Path, frame: FeatureFrame) -> None:
    world = train_world(tmp_path, frame, registry=_FailingRegistry())
    _assert_refused(world, request(frame), "read-only", FailedPrecondition)


def test_a_version_taken_meanwhile_is_skipped(tmp_path: Path, frame: FeatureFrame) -> None:
    world = train_world(tmp_path, frame)
    world.store.versions = lambda model_type: []  # type: ignore[method-assign]  # a listing that missed a writer
    squatter = world.store.stage("logistic")
    (squatter / "other.txt").write_text("someone else")
    world.store.publish(squatter, "logistic", "1")
    result = world.trainer(request(frame))
    assert result.entry.version == "2" and result.artifact_dir.name == "2"
    assert (world.store.version_dir("logistic", "1") / "other.txt").read_text() == "someone else"
    assert read_meta(world.store, result.artifact_dir).version == "2"


def test_model_files_that_do_not_match_the_sidecar_are_refused_at_load(tmp_path: Path, frame: FeatureFrame) -> None:
    world = train_world(tmp_path, frame)
    result = world.trainer(request(frame))
    weights = result.artifact_dir / "weights" / "logistic_weights.npz"
    weights.write_bytes(weights.read_bytes() + b"\x00")
    with pytest.raises(FailedPrecondition, match="logistic_weights.npz does not match its meta sidecar"):
        load_model(world.store, world.families, result.artifact_dir)
    meta_path = result.meta_path
    meta = json.loads(meta_path.read_text())
    meta["weights"]["files"]["weights/logistic_weights.npz"] = world.store.digest(weights)
    meta["enabled_factors"] = list(reversed(meta["enabled_factors"]))
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(FailedPrecondition, match="does not match its meta sidecar: features"):
        load_model(world.store, world.families, result.artifact_dir)


def test_extra_metrics_reach_the_registry_and_the_card(tmp_path: Path, frame: FeatureFrame) -> None:
    def by_session(valid: FeatureFrame, probabilities: np.ndarray) -> dict[str, object]:
        assert probabilities.shape == (len(valid), 3)
        return {"by_session": {"day": {"accuracy": 0.61, "n": 500}, "night": {"accuracy": 0.55, "n": 90}}}

    world = train_world(tmp_path, frame, extra_metrics=by_session)
    result = world.trainer(request(frame))
    assert result.entry.metrics["by_session"]["night"] == {"accuracy": 0.55, "n": 90}
    card = (result.artifact_dir / "model_card.md").read_text()
    assert "### By session" in card and "| night | 0.55 | 90 |" in card


class _WithHistory(LogisticFamily):
    """A family whose model describes a per-epoch training history, as the deep families do."""

    HISTORY = [{"epoch": 1, "train_loss": 1.1, "valid_loss": 1.2}, {"epoch": 2, "train_loss": 0.9, "valid_loss": 1.0}]

    def fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        model = super().fit(*args, **kwargs)
        original = model.describe
        model.describe = lambda: {**original(), "training": {"history": self.HISTORY}}  # type: ignore[method-assign]
        return model


def test_the_result_carries_the_learning_curve_a_model_describes(tmp_path: Path, frame: FeatureFrame) -> None:
    result = train_world(tmp_path / "plain", frame).trainer(request(frame))
    assert result.learning_curve == ()  # a tabular family has no epochs
    world = train_world(tmp_path / "deep", frame, families=FamilyRegistry([_WithHistory()]))
    assert list(world.trainer(request(frame)).learning_curve) == _WithHistory.HISTORY


@pytest.mark.slow  # torch import and two epochs: ~13 s of CPU
def test_a_deep_family_run_carries_its_per_epoch_losses(tmp_path: Path, frame: FeatureFrame) -> None:
    from ghtrader.adapters.torch import deep_families
    from ghtrader.application.experiments import result_curves
    from ghtrader.application.ports.models import TrainConfig
    from ghtrader.application.reporting import to_jsonable
    from tests.unit.adapters.torch_deep.tiny import TINY

    world = train_world(tmp_path, frame, families=FamilyRegistry([deep_families()["tcn"]]))
    config = TrainConfig(horizon=10, window=8, max_epochs=2, patience=5, batch_size=256, params=TINY["tcn"])
    result = world.trainer(request(frame, family="tcn", config=config))
    assert [row["epoch"] for row in result.learning_curve] == [1, 2]
    curves = result_curves(to_jsonable(result))  # as the job runner reads the job's result
    assert {"train_loss", "valid_loss", "valid_macro_loss", "valid_accuracy"} <= curves.keys()
    assert [step for step, _ in curves["train_loss"]] == [1, 2] and "seconds" not in curves
