"""MLflow mirror of experiment records (the only package that imports mlflow)."""

from ghtrader.adapters.mlflow.exporter import MlflowExperimentExporter

__all__ = ["MlflowExperimentExporter"]
