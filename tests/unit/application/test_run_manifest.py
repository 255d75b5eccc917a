"""Run manifests: what a result's data provenance and metrics are, and how two runs compare."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ghtrader.application.ports.jobs import JobOutcome, JobRecord
from ghtrader.application.run_manifest import (
    CodeVersion,
    build_manifest,
    close_enough,
    compare_manifests,
    data_manifest,
    result_metrics,
    result_outputs,
)

TRAIN_RESULT: dict[str, Any] = {
    "entry": {"model_id": "logistic-KQ.m@SHFE.cu-h10", "version": "2", "created_at_ns": 17, "horizon": 10},
    "meta_path": "/a/b/meta.json",
    "metrics": {"accuracy": 0.61, "n_valid": 812, "macro_f1": float("nan"), "train_seconds": 3.2, "fit_s": 1.0},
    "provenance": {"schedule_hash": "abc", "feature_build_id": "f1", "label_build_id": "l1", "start_day": "2026-10-13"},
    "folds": [{"sharpe": 1.5, "days": ["2026-10-13", "2026-10-14"]}],
    "kinds": {"features": {"build_id": "20261207T101500Z_features_ab12", "config_hash": "cf", "rows_written": 90}},
    "ok": True,
}


def _manifest(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "state": "succeeded",
        "code": {"git_commit": "aaa", "git_dirty": False},
        "config": {"request": {"model": "logistic", "seed": 1}, "settings": {"provider": "synthetic", "seed": 7}},
        "data": {"provenance.schedule_hash": "abc"},
        "metrics": {"metrics.accuracy": 0.61, "metrics.n_valid": 812.0},
    }
    base.update(over)
    return base


def test_data_manifest_takes_the_provenance_keys_wherever_they_are() -> None:
    data = data_manifest(TRAIN_RESULT)
    assert data == {
        "folds[0].days": ["2026-10-13", "2026-10-14"],
        "provenance.feature_build_id": "f1",
        "provenance.label_build_id": "l1",
        "provenance.schedule_hash": "abc",
        "provenance.start_day": "2026-10-13",
        "kinds.features.config_hash": "cf",
    }


def test_a_day_manifest_is_data_less_its_volatile_fields() -> None:
    result = {
        "contracts": [{"symbol": "SHFE.cu2612", "downloaded": 3, "duration_s": 1.2}],
        "day_manifests": [{"day": "2026-10-13", "rows": 10, "updated_at_ns": 5, "lake_version": "v2", "run_id": "r"}],
    }
    assert data_manifest(result) == {
        "contracts[0].symbol": "SHFE.cu2612",
        "day_manifests": [{"day": "2026-10-13", "rows": 10, "lake_version": "v2"}],
    }
    assert result_metrics(result) == {"contracts[0].downloaded": 3.0}


def test_outputs_are_what_the_run_made_afresh_and_are_kept_apart() -> None:
    assert result_outputs(TRAIN_RESULT) == {
        "entry.version": "2",
        "kinds.features.build_id": "20261207T101500Z_features_ab12",
        "meta_path": "/a/b/meta.json",
    }


def test_metrics_are_the_numeric_leaves_less_volatile_and_data_values() -> None:
    metrics = result_metrics(TRAIN_RESULT)
    assert metrics.keys() == {
        "entry.horizon",
        "metrics.accuracy",
        "metrics.n_valid",
        "metrics.macro_f1",
        "folds[0].sharpe",
        "ok",
        "kinds.features.rows_written",
    }
    assert metrics["metrics.accuracy"] == 0.61 and metrics["ok"] == 1.0 and math.isnan(metrics["metrics.macro_f1"])


def test_a_long_numeric_series_counts_by_its_length() -> None:
    metrics = result_metrics({"curve": [0.5] * 1000, "short": [1, 2]})
    assert metrics == {"curve.length": 1000.0, "short[0]": 1.0, "short[1]": 2.0}


def test_build_manifest_records_code_config_data_and_metrics() -> None:
    job = JobRecord(
        id=4,
        command="Train",
        args_json='{"model": "logistic", "seed": 1}',
        request_type="ghtrader.v1.TrainRequest",
        request_b64="",
        source="terminal",
        state="succeeded",
        created_ns=1,
        locks_wanted=(),
        tqsdk=False,
        no_wait=False,
        log_path="/l",
        exit_code=0,
        outcome=JobOutcome(True, "trained", "/r.json", "{}"),
    )
    m = build_manifest(job, CodeVersion("abc123", True), {"provider": "synthetic"}, TRAIN_RESULT)
    assert m["code"] == {"git_commit": "abc123", "git_dirty": True}
    assert m["config"] == {"request": {"model": "logistic", "seed": 1}, "settings": {"provider": "synthetic"}}
    assert m["data"]["provenance.schedule_hash"] == "abc" and m["metrics"]["metrics.accuracy"] == 0.61
    assert m["job_id"] == 4 and m["state"] == "succeeded" and m["ok"] is True and m["report_path"] == "/r.json"
    empty = build_manifest(job, CodeVersion(), {}, None)
    assert (
        empty["data"] == {} and empty["metrics"] == {} and empty["code"] == {"git_commit": "unknown", "git_dirty": None}
    )


def test_identical_manifests_are_equal() -> None:
    c = compare_manifests(_manifest(), _manifest())
    assert c.equal and c.differences == () and c.warnings == () and c.metrics_compared == 2


def test_metrics_within_tolerance_are_equal_and_beyond_it_are_not() -> None:
    near = _manifest(metrics={"metrics.accuracy": 0.61 + 1e-9, "metrics.n_valid": 812.0})
    assert compare_manifests(_manifest(), near).equal
    far = _manifest(metrics={"metrics.accuracy": 0.62, "metrics.n_valid": 812.0})
    c = compare_manifests(_manifest(), far)
    assert not c.equal
    (d,) = c.differences
    assert (d.section, d.key, d.original, d.reproduced) == ("metrics", "metrics.accuracy", "0.61", "0.62")
    assert d.abs_diff == pytest.approx(0.01)
    assert compare_manifests(_manifest(), far, rtol=0.05).equal  # a looser tolerance accepts it


def test_a_missing_metric_or_a_nan_against_a_number_differs() -> None:
    missing = _manifest(metrics={"metrics.accuracy": 0.61})
    c = compare_manifests(_manifest(), missing)
    assert not c.equal and c.differences[0].key == "metrics.n_valid" and c.differences[0].reproduced == "-"
    assert c.differences[0].abs_diff == math.inf and c.metrics_compared == 1
    nan = {"metrics.accuracy": float("nan")}
    assert compare_manifests(_manifest(metrics=nan), _manifest(metrics=nan)).equal
    assert not compare_manifests(_manifest(metrics=nan), _manifest(metrics={"metrics.accuracy": 0.5})).equal


def test_config_and_data_differences_are_exact() -> None:
    other_seed = _manifest(
        config={"request": {"model": "logistic", "seed": 2}, "settings": {"provider": "synthetic", "seed": 7}}
    )
    c = compare_manifests(_manifest(), other_seed)
    assert not c.equal and [(d.section, d.key, d.original, d.reproduced) for d in c.differences] == [
        ("config", "request.seed", "1", "2")
    ]
    other_build = _manifest(data={"provenance.schedule_hash": "zzz"})
    c = compare_manifests(_manifest(), other_build)
    assert not c.equal and c.differences[0].section == "data"
    assert compare_manifests(_manifest(), other_seed, ignore_config=["request.seed"]).equal


def test_a_code_difference_warns_but_does_not_decide() -> None:
    newer = _manifest(code={"git_commit": "bbb", "git_dirty": True})
    c = compare_manifests(_manifest(), newer)
    assert c.equal
    assert [d.section for d in c.differences] == ["code", "code"]
    assert any("aaa -> bbb" in w for w in c.warnings) and any("dirty" in w for w in c.warnings)


def test_a_different_final_state_is_not_equal() -> None:
    c = compare_manifests(_manifest(), _manifest(state="failed"))
    assert not c.equal and c.notes == ("state succeeded -> failed",)


def test_close_enough_edges() -> None:
    assert close_enough(0.0, 0.0, 0.0, 0.0)
    assert close_enough(math.inf, math.inf, 0, 0) and not close_enough(math.inf, 1e308, 1, 1)
    assert close_enough(100.0, 100.0001, 1e-6, 0.0) is False and close_enough(100.0, 100.0001, 1e-5, 0.0)
    with pytest.raises(ValueError):
        compare_manifests(_manifest(), _manifest(), rtol=-1)
