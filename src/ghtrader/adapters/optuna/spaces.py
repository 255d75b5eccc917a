"""Search spaces in YAML: one shipped per family under ``hpo_spaces/<family>.yaml`` (package
data), or a user's file (``ghtrader hpo --space f.yaml``). Format::

    family: lightgbm            # optional; must match the family searched when given
    fixed: {num_boost_round: 300}
    params:                     # searched in this order
      learning_rate: {type: float, low: 0.01, high: 0.3, log: true, grid: [0.03, 0.1]}
      bagging_freq: {type: categorical, choices: [0, 1, 5]}
      bagging_fraction: {type: float, low: 0.5, high: 1.0, step: 0.1, when: {bagging_freq: [1, 5]}}

``when`` makes a parameter conditional on earlier ones' values.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.hpo import ParamSpec, SearchSpace

__all__ = ["YamlSpaceCatalog", "parse_space"]

_KEYS = {"type", "low", "high", "log", "step", "choices", "grid", "when"}


def _param(name: str, body: Any) -> ParamSpec:
    if not isinstance(body, dict):
        raise InvalidArgument(f"search space: parameter {name!r} must be a mapping (type, low, high, ...)")
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        raise InvalidArgument(f"search space: parameter {name!r} has unknown keys {unknown}; known: {sorted(_KEYS)}")
    when = body.get("when") or {}
    if not isinstance(when, dict):
        raise InvalidArgument(f"search space: {name!r}.when must map parameter names to value lists")
    try:
        return ParamSpec(
            name=str(name),
            kind=body.get("type", "float"),
            low=None if body.get("low") is None else float(body["low"]),
            high=None if body.get("high") is None else float(body["high"]),
            log=bool(body.get("log", False)),
            step=None if body.get("step") is None else float(body["step"]),
            choices=tuple(body.get("choices") or ()),
            grid=tuple(body.get("grid") or ()),
            when={str(k): tuple(v if isinstance(v, list) else [v]) for k, v in when.items()},
        )
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"search space: parameter {name!r}: {exc}") from exc


def parse_space(text: str, family: str) -> SearchSpace:
    """The SearchSpace in YAML ``text`` for ``family`` (InvalidArgument when malformed)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"search space: not valid YAML ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("params"), dict):
        raise InvalidArgument("search space: expected a mapping with a 'params' mapping")
    named = doc.get("family")
    if named and named != family:
        raise InvalidArgument(f"search space is for family {named!r}, not {family!r}")
    fixed = doc.get("fixed") or {}
    if not isinstance(fixed, dict):
        raise InvalidArgument("search space: 'fixed' must be a mapping")
    params = tuple(_param(n, b) for n, b in doc["params"].items())
    try:
        return SearchSpace(family=family, params=params, fixed=dict(fixed))
    except ValueError as exc:
        raise InvalidArgument(f"search space: {exc}") from exc


class YamlSpaceCatalog:
    """SpaceCatalog of the YAML files shipped in ``hpo_spaces/`` (package data)."""

    package = "ghtrader.adapters.optuna.hpo_spaces"

    def names(self) -> list[str]:
        """Families with a shipped space."""
        return sorted(p.name.removesuffix(".yaml") for p in resources.files(self.package).iterdir()
                      if p.name.endswith(".yaml"))  # fmt: skip

    def default(self, family: str) -> SearchSpace:
        path = resources.files(self.package) / f"{family}.yaml"
        if not path.is_file():
            raise InvalidArgument(
                f"no shipped search space for {family!r} (shipped: {', '.join(self.names())}): pass --space file.yaml"
            )
        return parse_space(path.read_text(encoding="utf-8"), family)

    def parse(self, text: str, family: str) -> SearchSpace:
        return parse_space(text, family)
