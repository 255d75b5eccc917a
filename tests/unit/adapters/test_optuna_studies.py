"""OptunaStudies on SQLite: YAML spaces (conditional parameters, grid values), the pickled
per-trial reporter and the median / Hyperband pruners, grid search, directions on resume."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from ghtrader.adapters.optuna import OptunaStudies, YamlSpaceCatalog, parse_space, sqlalchemy_url
from ghtrader.application.errors import InvalidArgument, NotFound
from ghtrader.application.ports.hpo import StudyConfig

SPACE = """
params:
  a: {type: float, low: 0.0, high: 1.0, grid: [0.1, 0.9]}
  kind: {type: categorical, choices: [x, y]}
  b: {type: int, low: 1, high: 9, step: 4, when: {kind: [y]}}
"""


def test_spaces_parse_and_refuse_bad_documents() -> None:
    space = parse_space(SPACE, "f")
    assert space.names() == ("a", "kind", "b") and space.params[2].when == {"kind": ("y",)}
    assert space.params[2].grid_values() == (1, 5, 9) and not space.params[2].active({"kind": "x"})
    for bad, match in (
        ("params: {a: {type: float, low: 2, high: 1}}", "low <= high"),
        ("params: {a: {type: float, low: 0, high: 1, when: {z: [1]}}}", "searched before"),
        ("params: {a: {type: float, low: 0, high: 1, bogus: 1}}", "unknown keys"),
        ("family: other\nparams: {a: {type: categorical, choices: [1]}}", "not 'f'"),
        ("[1, 2", "not valid YAML"),
    ):
        with pytest.raises(InvalidArgument, match=match):
            parse_space(bad, "f")
    shipped = YamlSpaceCatalog()
    assert {"lightgbm", "xgboost", "logistic"} <= set(shipped.names())
    with pytest.raises(InvalidArgument, match="no shipped search space"):
        shipped.default("tcn")
    assert sqlalchemy_url("postgresql://u@/db?host=%2Ftmp&port=5") == "postgresql+psycopg://u@/db?host=%2Ftmp&port=5"


def _study(tmp_path: Path, **kw):  # type: ignore[no-untyped-def]
    space = parse_space(SPACE, "f")
    studies = OptunaStudies(f"sqlite:///{tmp_path / 's.db'}")
    return studies, space, studies.open(StudyConfig(directions=("maximize",), space=space, **kw))


@pytest.mark.parametrize("pruner", ["median", "hyperband"])
def test_a_pickled_reporter_prunes_a_trial_that_lags(tmp_path: Path, pruner: str) -> None:
    _, space, study = _study(tmp_path, name="p", pruner=pruner, max_steps=4)
    for _ in range(4):  # finished trials that did well at every step
        t = study.ask(space)
        rep = pickle.loads(pickle.dumps(study.reporter(t.number)))
        for step in range(4):
            assert rep.report(step, 1.0) is False or pruner == "hyperband"
        study.tell(t.number, "completed", [1.0])
    lag = study.ask(space)
    rep = pickle.loads(pickle.dumps(study.reporter(lag.number)))
    pruned = any(rep.report(step, -5.0) for step in range(4))
    assert pruned
    study.tell(lag.number, "pruned")
    assert {t.number: t.state for t in study.trials()}[lag.number] == "pruned"
    assert study.trials()[lag.number].intermediate[0] == -5.0


def test_grid_sampler_walks_the_grid_and_resume_checks_directions(tmp_path: Path) -> None:
    studies, space, study = _study(tmp_path, name="g", sampler="grid")
    seen = set()
    for _ in range(8):  # a (2) x kind (2) x b (3) = 12 points; conditional b only with kind=y
        t = study.ask(space)
        assert t.params["a"] in (0.1, 0.9) and ("b" in t.params) == (t.params["kind"] == "y")
        seen.add((t.params["a"], t.params["kind"], t.params.get("b")))
        study.tell(t.number, "completed", [t.params["a"]])
    assert len(seen) >= 4
    assert studies.load("g").best()[0].values == (0.9,)
    with pytest.raises(InvalidArgument, match="directions"):
        studies.open(StudyConfig(name="g", directions=("minimize",), space=space))
    with pytest.raises(NotFound):
        studies.load("missing")
    with pytest.raises(InvalidArgument, match="sampler"):
        studies.open(StudyConfig(name="h", directions=("maximize",), sampler="cmaes", space=space))
