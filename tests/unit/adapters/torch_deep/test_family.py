"""The deep families end to end: fit, predict, inputs == ONNX graph, save/load, errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from ghtrader.adapters.torch import TorchModelFamily, deep_families
from ghtrader.adapters.torch.family import META_FILE, WEIGHTS_FILE
from ghtrader.adapters.torch.models import ARCHITECTURES
from ghtrader.adapters.torch.windows import labelled_window_ends, window_ends
from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.models import FeatureFrame, TrainConfig
from tests.unit.adapters.torch_deep.frames import market_frame, planted_frame
from tests.unit.adapters.torch_deep.tiny import TINY

FAMILIES = deep_families()


def _quiet(done: int, total: int, message: str) -> None:
    pass


def _config(name: str, **kw) -> TrainConfig:
    base = {
        "horizon": 10,
        "window": 16,
        "max_epochs": 1,
        "batch_size": 128,
        "max_train_rows": 512,
        "params": TINY[name],
    }
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def splits() -> tuple[FeatureFrame, FeatureFrame, FeatureFrame]:
    frame = market_frame()
    day0 = np.flatnonzero(frame.segment_id == 0)
    train = frame.take(day0[:20_000])
    valid = frame.take(day0[20_100:26_000])
    # The test slice straddles the day change, so windows restart inside it.
    test = frame.take(np.arange(day0[-700], day0[-1] + 800))
    return train, valid, test


def test_the_container_gets_all_seven_families() -> None:
    assert sorted(FAMILIES) == ["deeplob", "patchtst", "ssm", "tcn", "tkan", "tlob", "transformer"]
    for name, family in FAMILIES.items():
        assert family.name == name and family.kind == "deep"
        params = family.default_params()
        assert "class_weighting" in params and "learning_rate" not in params


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_fit_predict_onnx_and_round_trip(name: str, splits, tmp_path: Path) -> None:
    train, valid, test = splits
    model = FAMILIES[name].fit(train, valid, _config(name), _quiet)
    assert model.family == name and model.kind == "deep" and model.window == 16
    assert model.feature_names == train.feature_names

    proba = model.predict_proba(test)
    rows = window_ends(test.segment_id, 16)
    assert proba.shape == (len(test), 3)
    has = ~np.isnan(proba).any(axis=1)
    assert has.tolist() == np.isin(np.arange(len(test)), rows).tolist()
    assert np.isnan(proba[~has]).all() and (~has).sum() == 2 * 15  # the first 15 rows of each segment
    np.testing.assert_allclose(proba[has].sum(axis=1), 1.0, atol=1e-5)

    x, x_rows = model.inputs(test)
    assert x.shape == (rows.size, 16, len(train.feature_names)) and x.dtype == np.float32
    np.testing.assert_array_equal(x_rows, rows)
    sig = model.export_onnx(tmp_path / "model.onnx")
    assert sig.input_shape == ("batch", 16, len(train.feature_names))
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    onnx_proba = session.run([sig.output_name], {sig.input_name: x})[0]
    np.testing.assert_allclose(onnx_proba, proba[x_rows], atol=1e-4)

    written = model.save(tmp_path / "saved")
    assert {p.name for p in written} == {"torch_weights.pt", "torch_normalizer.npz", "torch_model.json"}
    again = FAMILIES[name].load(tmp_path / "saved")
    np.testing.assert_allclose(again.predict_proba(test), proba, atol=1e-6, equal_nan=True)
    card = again.describe()
    assert card["n_parameters"] == model.n_parameters > 0
    assert card["architecture_params"] == {**ARCHITECTURES[name].DEFAULTS, **TINY[name]}
    assert len(card["training"]["history"]) == 1 and card["window"] == 16


def test_normalization_is_fitted_on_the_training_frame_only(tmp_path: Path) -> None:
    train = planted_frame(n=3000, seed=1)
    valid = planted_frame(n=1500, seed=2)
    valid = replace(valid, features=valid.features * 100.0 + 50.0)
    model = FAMILIES["tcn"].fit(train, valid, _config("tcn", horizon=2, window=8), _quiet)
    np.testing.assert_allclose(model.normalizer.mean, train.features.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(model.normalizer.std, train.features.std(axis=0), rtol=1e-4)
    assert model.describe()["normalization"]["x0"]["mean"] == pytest.approx(
        float(train.features[:, 0].mean()), abs=1e-5
    )
    model.save(tmp_path)
    np.testing.assert_array_equal(FAMILIES["tcn"].load(tmp_path).normalizer.mean, model.normalizer.mean)


def _macro_loss(model, frame: FeatureFrame) -> float:
    ends = labelled_window_ends(frame.segment_id, frame.labels, model.window)
    p = model.predict_proba(frame)[ends]
    y = frame.labels[ends].astype(int)
    ce = -np.log(p[np.arange(len(y)), y])
    return float(np.mean([ce[y == c].mean() for c in range(3) if (y == c).any()]))


def test_early_stopping_restores_the_best_weights() -> None:
    train = planted_frame(n=900, seed=4)
    rng = np.random.default_rng(9)
    valid = planted_frame(n=1200, seed=5)
    valid = replace(valid, labels=rng.permutation(valid.labels))  # nothing to learn: valid loss drifts up
    calls: list[tuple[int, int, str]] = []
    config = _config(
        "transformer",
        horizon=2,
        window=8,
        max_epochs=12,
        patience=2,
        learning_rate=2e-2,
        batch_size=64,
        max_train_rows=None,
    )
    model = FAMILIES["transformer"].fit(train, valid, config, lambda d, t, m: calls.append((d, t, m)))
    t = model.training
    losses = [r["valid_macro_loss"] for r in t["history"]]
    assert t["stopped_early"] and len(losses) < 12
    assert t["best_epoch"] == int(np.argmin(losses)) + 1
    assert len(losses) == t["best_epoch"] + 2  # patience epochs without improvement
    assert _macro_loss(model, valid) == pytest.approx(losses[t["best_epoch"] - 1], abs=1e-4)
    # progress: one call per epoch with the losses, then done == total
    assert [c[0] for c in calls[:-1]] == list(range(1, len(losses) + 1))
    assert all(c[1] == 12 for c in calls) and calls[-1][0] == 12
    assert "valid loss" in calls[0][2] and "train loss" in calls[0][2]


def test_same_seed_same_model_other_seed_other_model() -> None:
    train, valid = planted_frame(n=1500, seed=1), planted_frame(n=600, seed=2)

    def fit(seed: int):
        return FAMILIES["ssm"].fit(train, valid, _config("ssm", horizon=2, window=8, seed=seed), _quiet)

    a, b, c = fit(1), fit(1), fit(2)
    np.testing.assert_array_equal(a.predict_proba(valid), b.predict_proba(valid))
    assert not np.allclose(a.predict_proba(valid), c.predict_proba(valid), equal_nan=True)


def test_max_train_rows_and_class_weights_are_applied() -> None:
    train, valid = planted_frame(n=3000, seed=1), planted_frame(n=600, seed=2)
    model = FAMILIES["tcn"].fit(
        train,
        valid,
        _config("tcn", horizon=2, window=8, max_train_rows=300, params={"class_weighting": "balanced"}),
        _quiet,
    )
    t = model.training
    assert t["train_samples"] == 300
    counts = np.bincount(train.labels[labelled_window_ends(train.segment_id, train.labels, 8)].astype(int), minlength=3)
    w = np.asarray(t["class_weights"])
    assert w.shape == (3,) and np.argmax(w) == np.argmin(counts) and np.argmin(w) == np.argmax(counts)
    plain = FAMILIES["tcn"].fit(train, valid, _config("tcn", horizon=2, window=8), _quiet)
    assert plain.training["class_weights"] is None


def test_a_model_selects_its_features_by_name() -> None:
    train, valid = planted_frame(n=1500, seed=1), planted_frame(n=600, seed=2)
    model = FAMILIES["tcn"].fit(train, valid, _config("tcn", horizon=2, window=8), _quiet)
    order = [3, 0, 4, 1, 2]
    shuffled = replace(
        valid,
        features=np.column_stack([valid.features[:, order], np.ones(len(valid), dtype=np.float32)]),
        feature_names=tuple(valid.feature_names[i] for i in order) + ("extra",),
    )
    np.testing.assert_allclose(model.predict_proba(shuffled), model.predict_proba(valid), atol=1e-6)
    missing = replace(valid, features=valid.features[:, :4], feature_names=valid.feature_names[:4])
    with pytest.raises(InvalidArgument, match="x4"):
        model.predict_proba(missing)


def test_unusable_inputs_are_refused_with_a_reason() -> None:
    train, valid = planted_frame(n=1500, seed=1), planted_frame(n=600, seed=2)
    family = FAMILIES["tcn"]
    with pytest.raises(InvalidArgument, match="unknown parameter"):
        family.fit(train, valid, _config("tcn", params={"colour": "red"}), _quiet)
    with pytest.raises(InvalidArgument, match="single class"):
        family.fit(replace(train, labels=np.ones(len(train))), valid, _config("tcn"), _quiet)
    with pytest.raises(InvalidArgument, match="no labelled window"):
        family.fit(train, valid, _config("tcn", window=600), _quiet)  # segments are 500 rows
    with pytest.raises(InvalidArgument, match="same columns"):
        family.fit(train, replace(valid, feature_names=tuple(reversed(valid.feature_names))), _config("tcn"), _quiet)
    with pytest.raises(InvalidArgument, match="class_weighting"):
        family.fit(train, valid, _config("tcn", params={"class_weighting": "sometimes"}), _quiet)
    with pytest.raises(InvalidArgument, match="cannot build"):
        FAMILIES["deeplob"].fit(train, valid, _config("deeplob", params={"book_width": 6}), _quiet)
    if not torch.cuda.is_available():
        with pytest.raises(FailedPrecondition, match="cuda"):
            family.fit(train, valid, _config("tcn", device="cuda"), _quiet)


def test_load_refuses_missing_tampered_or_foreign_files(tmp_path: Path) -> None:
    train, valid = planted_frame(n=1500, seed=1), planted_frame(n=600, seed=2)
    FAMILIES["tcn"].fit(train, valid, _config("tcn", horizon=2, window=8), _quiet).save(tmp_path)
    with pytest.raises(NotFound):
        FAMILIES["tcn"].load(tmp_path / "nowhere")
    with pytest.raises(FailedPrecondition, match="family"):
        FAMILIES["tlob"].load(tmp_path)
    weights = tmp_path / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes() + b"\0")
    with pytest.raises(FailedPrecondition, match="hash"):
        FAMILIES["tcn"].load(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["format"] == "ghtrader.torch/1" and meta["feature_names"] == list(train.feature_names)


def test_a_family_is_just_a_module_builder() -> None:
    class Last(torch.nn.Module):
        def __init__(self, f: int, scale: float) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(f, 3)
            self.scale = scale

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.lin(x[:, -1]) * self.scale

    family = TorchModelFamily(
        "last_tick", lambda f, w, p: Last(f, **p), {"scale": 1.0}, "a linear read of the last tick"
    )
    train, valid = planted_frame(n=1500, seed=1), planted_frame(n=600, seed=2)
    model = family.fit(train, valid, TrainConfig(horizon=2, window=3, max_epochs=2, params={"scale": 2.0}), _quiet)
    assert model.describe()["architecture_params"] == {"scale": 2.0}
    with pytest.raises(ValueError, match="clash"):
        TorchModelFamily("bad", lambda f, w, p: Last(f, 1.0), {"weight_decay": 0.1})


def test_a_deep_model_beats_the_majority_class_on_a_planted_signal(splits) -> None:
    frame = market_frame()  # signal_strength 0.4, horizon 10
    day0, day1 = np.flatnonzero(frame.segment_id == 0), np.flatnonzero(frame.segment_id == 1)
    train, valid, test = frame.take(day0[:42_000]), frame.take(day0[42_100:]), frame.take(day1[:20_000])
    config = TrainConfig(horizon=10, window=20, max_epochs=3, batch_size=256, learning_rate=2e-3, max_train_rows=8000)
    model = FAMILIES["tcn"].fit(train, valid, config, _quiet)
    p = model.predict_proba(test)
    ok = ~np.isnan(p).any(axis=1) & ~np.isnan(test.labels)
    accuracy = float((p[ok].argmax(axis=1) == test.labels[ok]).mean())
    majority = float(np.bincount(test.labels[ok].astype(int), minlength=3).max() / ok.sum())
    assert accuracy > majority + 0.01, f"accuracy {accuracy:.3f} vs majority-class {majority:.3f}"
