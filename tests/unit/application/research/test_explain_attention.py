"""ExplainModel on registered deep models: a TLOB model's report carries temporal and feature-wise
attention maps (rows summing to 1, the tick's window and the mean), their heat maps and the
by-lag figure; a TCN model (no attention) gets a note, not an error."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import torch

from ghtrader.adapters.onnx import OnnxCalibrationGraphWriter
from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter
from ghtrader.adapters.torch import deep_families
from ghtrader.adapters.torch.attention import TorchAttentionMaps
from ghtrader.adapters.torch.explain import TorchIntegratedGradients
from ghtrader.application.research.calibration import CalibratedFamily
from ghtrader.application.research.explain import ExplainModel, ExplainRequest
from ghtrader.application.research.families import FamilyRegistry
from tests.fakes.system import FakeClock
from tests.fakes.tabular_frames import planted_frame
from tests.unit.adapters.torch_deep.tiny import TINY
from tests.unit.application.research.train_world import request, train_world

DAY = date(2026, 11, 4)
WINDOW = 6


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("explain_attention")
    frame = planted_frame(1500, 3, seed=5)
    graph = OnnxCalibrationGraphWriter()
    deep = deep_families()
    families = FamilyRegistry([CalibratedFamily(deep[name], graph) for name in ("tlob", "tcn")])
    w = train_world(tmp, frame, families=families)
    for family in ("tlob", "tcn"):
        base = request(frame, family, model_id=f"{family}-m")
        config = replace(base.config, window=WINDOW, max_epochs=1, batch_size=256, params=TINY[family])
        w.trainer(replace(base, config=config))
    ig = TorchIntegratedGradients()
    explain = ExplainModel(
        registry=w.registry,
        artifacts=w.store,
        families=families,
        runtime=w.runtime,
        frames=w.frames,
        attributors={"tlob": ig, "tcn": ig},
        clock=FakeClock(),
        writer=MatplotlibBenchmarkReportWriter(tmp / "runs", "explain"),
        attention=TorchAttentionMaps(),
    )
    yield explain, frame
    torch.set_num_threads(threads)


def test_tlob_report_has_attention_maps_and_figures(world) -> None:
    explain, frame = world
    r = explain(
        ExplainRequest(model_id="tlob-m", day=DAY, max_rows=40, steps=4, permutation_rows=300, permutation_repeats=1)
    )
    assert r.methods == ["ig", "permutation"]
    assert [(e["kind"], e["layer"]) for e in r.attention] == [("temporal", 1), ("feature", 1)]
    temporal, feature = r.attention
    assert np.asarray(temporal["tick_map"]).shape == (WINDOW, WINDOW) == np.asarray(temporal["mean_map"]).shape
    assert np.asarray(feature["tick_map"]).shape == (3, 3) and feature["labels"] == list(frame.feature_names)
    for e in r.attention:
        for key in ("tick_map", "mean_map"):
            np.testing.assert_allclose(np.asarray(e[key]).sum(axis=1), 1.0, atol=1e-6)
        assert e["summary"]["rows"] == r.attributed_rows and e["summary"]["row_sum_max_error"] < 1e-6
    s = temporal["summary"]
    assert s["query"] == "mean over queries" and set(s["share_last_k"]) == {"1", "5"}
    assert 0 < s["share_last_k"]["1"] < s["share_last_k"]["5"] <= 1
    assert sum(feature["summary"]["received"].values()) == pytest.approx(1.0)
    assert r.report_paths is not None
    figures = r.report_paths["figure_paths"]
    assert {"attention_temporal", "attention_feature", "attention_by_lag", "importance_by_lag"} <= set(figures)
    assert all(Path(figures[n]).stat().st_size > 1000 for n in ("attention_temporal", "attention_feature"))
    payload = json.loads(Path(r.report_paths["json_path"]).read_text())
    assert payload["attention"][0]["summary"]["share_last_k"] == s["share_last_k"]


def test_family_without_attention_gets_a_note(world) -> None:
    explain, _ = world
    r = explain(ExplainRequest(model_id="tcn-m", day=DAY, method="ig", max_rows=20, steps=2))
    assert r.methods == ["ig"] and not r.attention
    assert any("tcn family has no attention layers" in n for n in r.notes)
