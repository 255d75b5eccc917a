"""Optuna adapter: HPO studies on Optuna's RDB storage, and the shipped YAML search spaces."""

from ghtrader.adapters.optuna.spaces import YamlSpaceCatalog, parse_space
from ghtrader.adapters.optuna.studies import OptunaStudies, sqlalchemy_url

__all__ = ["OptunaStudies", "YamlSpaceCatalog", "parse_space", "sqlalchemy_url"]
