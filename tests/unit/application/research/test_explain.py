"""ExplainModel on a registered (calibrated) model: TreeSHAP attributions of the tick add up to
the raw margin, global and permutation importance rank features, error analysis by group, and
a report with its figures; a family without an attributor gets permutation importance only."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.lightgbm import LightGBMFamily
from ghtrader.adapters.lightgbm.explain import LightGBMTreeShap
from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.linear.explain import LinearAttributions
from ghtrader.adapters.onnx import OnnxCalibrationGraphWriter
from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.research.calibration import CalibratedFamily
from ghtrader.application.research.explain import ExplainModel, ExplainRequest, error_by_group
from ghtrader.application.research.families import FamilyRegistry
from tests.fakes.system import FakeClock
from tests.fakes.tabular_frames import planted_frame
from tests.unit.application.research.train_world import request, train_world

DAY = date(2026, 11, 4)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explain")
    frame = planted_frame(4000, 6, seed=5)
    graph = OnnxCalibrationGraphWriter()
    families = FamilyRegistry([CalibratedFamily(LightGBMFamily(), graph), CalibratedFamily(LogisticFamily(), graph)])
    w = train_world(tmp, frame, families=families)
    for family in ("lightgbm", "logistic"):
        w.trainer(request(frame, family, model_id=f"{family}-m"))
    explain = ExplainModel(
        registry=w.registry,
        artifacts=w.store,
        families=families,
        runtime=w.runtime,
        frames=w.frames,
        attributors={"lightgbm": LightGBMTreeShap()},
        clock=FakeClock(),
        writer=MatplotlibBenchmarkReportWriter(tmp / "runs", "explain"),
    )
    linear = ExplainModel(
        registry=w.registry,
        artifacts=w.store,
        families=families,
        runtime=w.runtime,
        frames=w.frames,
        attributors={"logistic": LinearAttributions()},
        clock=FakeClock(),
    )
    return explain, frame, linear


def test_treeshap_explanation_of_a_registered_model(world) -> None:
    explain, frame, _ = world
    tick_ts = int(frame.datetime_ns[len(frame) // 2]) + 1
    r = explain(ExplainRequest(model_id="lightgbm-m", day=DAY, tick_ts_ns=tick_ts, max_rows=800, permutation_rows=2000))
    assert r.methods == ["treeshap", "permutation"] and r.output_space == "raw_margin"
    assert r.completeness_max_abs_error is not None and r.completeness_max_abs_error < 1e-6
    tick = r.tick
    assert tick["row"] == len(frame) // 2  # the last row at or before the asked time
    assert abs(sum(tick["contributions"].values()) + tick["base"] - tick["output"]) < 1e-6
    assert tick["explained_class"] == ("DOWN", "FLAT", "UP")[tick["predicted_class"]]
    names = [g["feature"] for g in r.global_importance]
    assert sorted(names) == sorted(frame.feature_names)
    means = [g["mean_abs"] for g in r.global_importance]
    assert means == sorted(means, reverse=True) and means[0] > 0
    assert set(names[:2]) == {"x0", "x1"}  # the planted signal
    rises = [p["delta_log_loss"] for p in r.permutation]
    assert rises == sorted(rises, reverse=True) and rises[0] > 0  # shuffling the best feature hurts
    assert {p["feature"] for p in r.permutation[:2]} == {"x0", "x1"}
    assert {"vol_regime", "session", "segment", "symbol"} <= set(r.error_analysis)
    assert set(r.error_analysis["vol_regime"]) == {"low_vol", "mid_vol", "high_vol"}
    labelled = int(np.isfinite(frame.labels).sum())
    assert r.error_analysis["symbol"]["SHFE.cu2612"]["n"] == labelled
    paths = r.report_paths
    assert paths is not None
    figures = set(paths["figure_paths"])
    assert {"global_importance", "tick_waterfall", "permutation_importance", "error_by_group"} <= figures
    assert all(Path(p).stat().st_size > 1000 for p in paths["figure_paths"].values())
    payload = json.loads(Path(paths["json_path"]).read_text())
    assert payload["kind"] == "explain" and payload["model_id"] == "lightgbm-m"


def test_default_tick_is_the_most_confident_directional_prediction(world) -> None:
    explain, _, _ = world
    r = explain(ExplainRequest(model_id="lightgbm-m", day=DAY, method="treeshap", max_rows=50))
    p = r.tick["probabilities"]
    assert r.methods == ["treeshap"] and not r.permutation
    assert max(p["DOWN"], p["UP"]) >= 0.34


def test_family_without_attributor_gets_permutation_only(world) -> None:
    explain, _, _ = world
    r = explain(ExplainRequest(model_id="logistic-m", day=DAY, permutation_rows=1000, permutation_repeats=1))
    assert r.methods == ["permutation"] and not r.global_importance
    assert any("no attributor" in n for n in r.notes)
    with pytest.raises(InvalidArgument, match="no treeshap"):
        explain(ExplainRequest(model_id="logistic-m", day=DAY, method="treeshap"))


def test_linear_attributions_of_a_logistic_model(world) -> None:
    _, _, linear = world
    r = linear(ExplainRequest(model_id="logistic-m", day=DAY, method="linear"))
    assert r.methods == ["linear"] and r.output_space == "logit" and r.completeness_max_abs_error < 1e-9
    assert {g["feature"] for g in r.global_importance[:2]} == {"x0", "x1"}
    assert r.report_paths is None  # no writer: nothing written


def test_error_by_group_counts_only_labelled_predicted_rows() -> None:
    labels = np.array([0.0, 2.0, np.nan, 1.0])
    probs = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4], [np.nan] * 3])
    out = error_by_group(labels, probs, {"all": np.ones(4, bool), "first": np.array([1, 0, 0, 0], bool)})
    assert out["all"]["n"] == 2 and out["all"]["accuracy"] == 1.0 and out["first"]["n"] == 1
