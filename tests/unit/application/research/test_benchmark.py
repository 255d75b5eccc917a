"""RunBenchmark on the synthetic market with the logistic family, the ONNX runtime and the
matplotlib report writer."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ghtrader.adapters.linear import LogisticFamily
from ghtrader.adapters.onnx.runtime import OnnxInferenceRuntime
from ghtrader.adapters.reports import MatplotlibBenchmarkReportWriter
from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.models import FeatureFrame
from ghtrader.application.research.benchmark import BenchmarkReport, RunBenchmark
from ghtrader.application.research.benchmark_figures import benchmark_figures, benchmark_tables, ceiling_table
from ghtrader.domain.evaluation import CostModel
from tests.fakes.frames import synthetic_frame
from tests.fakes.system import FakeClock

from .bench_families import (
    FRAME_ARGS,
    REQUEST,
    PriorFamily,
    RecordingFamily,
    SharpenedFamily,
    WindowedFamily,
    bayes_frame,
)


def _benchmark(tmp: Path | None = None, runtime: bool = True) -> RunBenchmark:
    return RunBenchmark(
        runtime=OnnxInferenceRuntime() if runtime else None,
        writer=MatplotlibBenchmarkReportWriter(tmp) if tmp is not None else None,
        clock=FakeClock(),
    )


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[BenchmarkReport, RecordingFamily]:
    family = RecordingFamily(LogisticFamily())
    out = tmp_path_factory.mktemp("bench")
    report = _benchmark(out)(REQUEST, frame=synthetic_frame(**FRAME_ARGS), family=family)
    return report, family


@pytest.fixture(scope="module")
def report(recorded: tuple[BenchmarkReport, RecordingFamily]) -> BenchmarkReport:
    return recorded[0]


def test_five_folds_with_mean_and_std(report: BenchmarkReport) -> None:
    assert report.n_splits == report.n_splits_requested == 5
    assert not any("splits instead" in n for n in report.notes)
    for key in (
        "accuracy",
        "macro_f1",
        "log_loss",
        "ece",
        "mce",
        "brier",
        "net_pnl",
        "net_sharpe",
        "ic_h10",
        "latency_p50_ms",
        "expected_move_rule_macro_f1",
        "model_expected_move_rule_f1_ratio",
        "policy_net_pnl",
        "policy_n_trades",
        "policy_turnover",
    ):
        s = report.summary[key]
        values = [f.metrics[key] for f in report.folds]
        assert s.n == 5
        assert s.mean == pytest.approx(np.mean(values))
        assert s.std == pytest.approx(np.std(values, ddof=1))
    # calibration bins of the pooled rows account for every scored row
    cls = report.pooled["classification"]
    assert sum(cls["calibration"]["count"]) == cls["n"] == sum(f.classification["n"] for f in report.folds)


def test_purge_gap_is_the_longest_horizon(recorded: tuple[BenchmarkReport, RecordingFamily]) -> None:
    report, family = recorded
    frame = synthetic_frame(**FRAME_ARGS)
    assert report.purge == max(REQUEST.horizon, *REQUEST.decay_horizons) == 200
    position = {int(t): i for i, t in enumerate(frame.datetime_ns)}
    for fold, train_t, valid_t in zip(report.folds, family.train_times, family.valid_times, strict=True):
        last_train = position[int(train_t[-1])]
        first_valid, last_valid = position[int(valid_t[0])], position[int(valid_t[-1])]
        first_test = fold.test_rows[0]
        assert first_valid - last_train - 1 >= 200
        assert first_test - last_valid - 1 >= 200
        # labels of the last training row look 10 ticks ahead: never into validation or test
        assert last_train + REQUEST.horizon < first_valid


def test_the_expected_move_rule_is_a_reference_not_a_ceiling(report: BenchmarkReport) -> None:
    rule = report.pooled["expected_move_rule"]
    assert rule is not None and rule["n"] > 10_000
    assert rule["macro_f1"] > 0.4
    # the model learns the planted signal; the rule ignores volatility and the book, so no upper
    # bound on the ratio is claimed (the Bayes ceiling is tested on frames that carry one)
    assert report.summary["model_expected_move_rule_f1_ratio"].mean > 0.5
    assert rule["model_f1_ratio"] == pytest.approx(rule["model_macro_f1_same_rows"] / rule["macro_f1"])
    fold = report.folds[0].expected_move_rule
    assert fold is not None and fold["source"].startswith("oracle_dmid") and fold["threshold"] >= 0
    assert not any(k.startswith("oracle") for k in report.summary)
    assert any("no Bayes oracle" in n for n in report.notes) and "info_captured" not in report.summary


def test_a_model_without_skill_scores_far_below_the_signal_model(report: BenchmarkReport) -> None:
    prior = _benchmark(runtime=False)(
        replace(REQUEST, write_report=False), frame=synthetic_frame(**FRAME_ARGS), family=PriorFamily()
    )
    assert prior.plan_fingerprint == report.plan_fingerprint
    ratio = "model_expected_move_rule_f1_ratio"
    assert prior.summary[ratio].mean < report.summary[ratio].mean - 0.2
    assert abs(prior.summary["ic_h10"].mean) < 0.05 or math.isnan(prior.summary["ic_h10"].mean)
    assert any("latency not measured" in n for n in prior.notes)


def test_alpha_decay_and_half_life(report: BenchmarkReport) -> None:
    ic = [report.summary[f"ic_h{h}"].mean for h in (10, 50, 100, 200)]
    assert ic[0] > 0.2
    assert ic == sorted(ic, reverse=True)
    decay = report.pooled["decay"]
    assert decay["half_life"] is not None and 10 < decay["half_life"] < 400


def test_costs_are_charged_and_flagged(report: BenchmarkReport) -> None:
    t = report.pooled["trading"]
    assert t["n_trades"] > 100
    assert t["net"]["total"] == pytest.approx(t["gross"]["total"] - t["total_cost"])
    assert t["total_cost"] > 0
    flagged = t["gross"]["total"] > 0 >= t["net"]["total"]
    assert t["profitable_gross_not_net"] == flagged
    assert any("profitable before costs but not after" in n for n in report.notes) == flagged
    curve = report.curves["equity"]
    assert curve["cum_net"][-1] == pytest.approx(t["net"]["total"])
    assert len(curve["elapsed_days"]) == t["n_trades"]


def test_free_costs_make_net_equal_gross() -> None:
    free = _benchmark(runtime=False)(
        replace(REQUEST, costs=CostModel.free(), write_report=False),
        frame=synthetic_frame(**FRAME_ARGS),
        family=LogisticFamily(),
    )
    t = free.pooled["trading"]
    assert t["net"]["total"] == pytest.approx(t["gross"]["total"]) and t["total_cost"] == 0
    assert t["gross"]["total"] > 0  # the planted signal pays before costs


def test_regime_and_session_breakdowns(report: BenchmarkReport) -> None:
    regimes = report.pooled["by_regime"]
    sessions = report.pooled["by_session"]
    total = report.pooled["classification"]["n"] + report.pooled["classification"]["n_dropped"]
    assert set(regimes) == {"low_vol", "mid_vol", "high_vol"}
    assert set(sessions) == {"day", "night"}
    assert all(g["rows"] > 0 for g in (*regimes.values(), *sessions.values()))
    assert sum(g["rows"] for g in sessions.values()) == total
    assert sum(g["rows"] for g in regimes.values()) <= total
    assert sum(g["n_trades"] for g in sessions.values()) == report.pooled["trading"]["n_trades"]


def test_latency_through_the_onnx_runtime(report: BenchmarkReport) -> None:
    for fold in report.folds:
        lat = fold.latency
        assert lat is not None
        assert "CPUExecutionProvider" in lat["providers"]
        assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"]
        assert lat["batch1"]["n"] == REQUEST.latency_samples
        assert lat["batched"]["batch_size"] == REQUEST.throughput_batch and lat["throughput_per_s"] > 0
        assert lat["onnx_max_abs_diff"] < 1e-4


def test_report_files(report: BenchmarkReport) -> None:
    paths = report.report_paths
    assert paths is not None
    data = json.loads(Path(paths["json_path"]).read_text(encoding="utf-8"), parse_constant=pytest.fail)
    assert data["report_id"] == report.report_id and len(data["folds"]) == 5
    assert set(paths["figure_paths"]) == {"reliability", "alpha_decay", "equity", "confusion", "folds_macro_f1"}
    for png in paths["figure_paths"].values():
        assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = Path(paths["html_path"]).read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 5
    assert "Summary over folds" in html and "macro_f1" in html


def test_fewer_days_than_folds_gives_a_note() -> None:
    short = _benchmark(runtime=False)(
        replace(REQUEST, write_report=False),
        frame=synthetic_frame(**{**FRAME_ARGS, "days": 6}),
        family=PriorFamily(),
    )
    assert short.n_splits == 4 and short.n_splits_requested == 5
    assert short.note is not None and "4 splits instead of 5" in short.note


def test_deep_models_get_history_before_the_test_block() -> None:
    family = WindowedFamily(window=20)
    frame = synthetic_frame(**FRAME_ARGS)
    rep = _benchmark(runtime=False)(replace(REQUEST, write_report=False), frame=frame, family=family)
    for fold, model in zip(rep.folds, family.models, strict=True):
        assert model.seen_first_times[0] == int(frame.datetime_ns[fold.test_rows[0] - 19])
        labelled = int(np.isfinite(frame.labels[fold.test_rows[0] : fold.test_rows[1] + 1]).sum())
        assert fold.classification["n"] == labelled  # no test row lost for want of a window


def test_request_checks() -> None:
    frame = synthetic_frame(**FRAME_ARGS)
    bench = _benchmark(runtime=False)
    with pytest.raises(InvalidArgument, match="at least 5 folds"):
        bench(replace(REQUEST, n_splits=3), frame=frame, family=PriorFamily())
    with pytest.raises(InvalidArgument, match="horizon 10"):
        bench(replace(REQUEST, horizon=50), frame=frame, family=PriorFamily())
    with pytest.raises(InvalidArgument, match="name a model family"):
        bench(REQUEST, frame=frame)


CEILING_KEYS = (
    "bayes_rows",
    "bayes_log_loss",
    "model_log_loss_bayes_rows",
    "prior_log_loss",
    "info_captured",
    "bayes_macro_f1",
    "model_macro_f1_bayes_rows",
    "bayes_se_max",
    "policy_net_pnl",
    "policy_n_trades",
    "policy_turnover",
    "bayes_policy_n_trades",
    "bayes_policy_net_pnl_per_trade",
)


@pytest.fixture(scope="module")
def ceiling() -> tuple[FeatureFrame, BenchmarkReport, BenchmarkReport]:
    frame = bayes_frame(synthetic_frame(**FRAME_ARGS))
    bench = _benchmark(runtime=False)
    request = replace(REQUEST, write_report=False)
    model = bench(request, frame=frame, family=SharpenedFamily(LogisticFamily()))
    prior = bench(request, frame=frame, family=PriorFamily())
    return frame, model, prior


def test_ceiling_metrics_per_fold_and_pooled(ceiling: tuple[FeatureFrame, BenchmarkReport, BenchmarkReport]) -> None:
    frame, model, _ = ceiling
    sampled = np.isfinite(frame.extras["bayes_p_up"]) & np.isfinite(frame.labels)
    for fold in model.folds:
        assert all(math.isfinite(fold.metrics[k]) for k in CEILING_KEYS)
        lo, hi, _ = fold.test_rows
        assert fold.metrics["bayes_rows"] == int(sampled[lo : hi + 1].sum())
        assert fold.metrics["bayes_se_max"] == pytest.approx(0.005)
        assert fold.ceiling is not None and fold.ceiling["bayes_decision_rule"]["n_fit"] > 0
    for k in CEILING_KEYS:
        assert model.summary[k].n == 5
    pooled = model.pooled["metrics"]
    assert pooled["bayes_rows"] == sum(f.metrics["bayes_rows"] for f in model.folds)
    assert pooled["policy_n_trades"] == sum(f.metrics["policy_n_trades"] for f in model.folds)
    assert not any("no Bayes oracle" in n for n in model.notes)


def test_a_linear_model_on_linear_probabilities_nears_the_ceiling(
    ceiling: tuple[FeatureFrame, BenchmarkReport, BenchmarkReport],
) -> None:
    _, model, prior = ceiling
    m, p = model.pooled["metrics"], prior.pooled["metrics"]
    # no model beats the oracle's log-loss beyond sampling error; the linear model comes close
    assert m["model_log_loss_bayes_rows"] >= m["bayes_log_loss"] - 0.01
    assert 0.85 < m["info_captured"] < 1.03
    assert m["info_captured"] == pytest.approx(
        (m["prior_log_loss"] - m["model_log_loss_bayes_rows"]) / (m["prior_log_loss"] - m["bayes_log_loss"])
    )
    # base rates capture nothing, and never trade under the cost-aware policy
    assert abs(p["info_captured"]) < 0.02
    assert p["policy_n_trades"] == 0 and any("does not trade" in n for n in prior.notes)
    # the Bayes decision rule is the macro-F1 reference: the model does not clear it
    assert m["model_macro_f1_bayes_rows"] <= m["bayes_macro_f1"] + 0.01
    # a four-tick move per class pays the costs: both policies trade and win on the sampled rows
    assert m["policy_n_trades"] > 0 and m["bayes_policy_n_trades"] > 0
    assert m["bayes_policy_net_pnl_per_trade"] > 0 and m["policy_net_pnl_per_trade"] > 0
    for fold in model.folds:
        policy = fold.ceiling["model_policy"] if fold.ceiling else {}
        assert policy["trades"] and policy["threshold"] >= policy["mean_cost"] > 0


def test_ece_before_calibration_comes_from_the_model_when_it_has_one(
    ceiling: tuple[FeatureFrame, BenchmarkReport, BenchmarkReport],
) -> None:
    _, model, prior = ceiling
    assert model.summary["ece_uncalibrated"].n == 5
    assert model.pooled["metrics"]["ece_uncalibrated"] > model.pooled["metrics"]["ece"] + 0.05
    assert "ece_uncalibrated" not in prior.summary


def test_the_report_shows_a_ceiling_panel(
    ceiling: tuple[FeatureFrame, BenchmarkReport, BenchmarkReport], tmp_path: Path
) -> None:
    _, model, prior = ceiling
    reports = [model, prior]
    tables = benchmark_tables(reports)
    table = next(t for t in tables if t.title.startswith("Ceiling"))
    assert [row[0] for row in table.rows] == [model.family, prior.family]
    info_col = table.columns.index("info captured")
    assert table.rows[0][info_col] == format(model.pooled["metrics"]["info_captured"], ".3f")
    written = MatplotlibBenchmarkReportWriter(tmp_path).write(
        "ceiling", {"x": 1}, benchmark_figures(reports), tables, title="ceiling"
    )
    names = set(written.figure_paths)
    assert {"ceiling_info_captured", "ceiling_log_loss", "ceiling_macro_f1", "ceiling_policy_pnl"} <= names
    html = Path(written.html_path).read_text(encoding="utf-8")
    assert "Ceiling: each model against the Bayes oracle" in html and "Bayes rule macro-F1" in html
    # without the oracle there is no ceiling panel
    assert ceiling_table([replace(prior, pooled={**prior.pooled, "metrics": {}})]) is None
