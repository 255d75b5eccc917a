"""Clustering of observation windows with scikit-learn (the only package that imports it)."""

from ghtrader.adapters.clustering.sklearn_clusterer import SklearnWindowClusterer

__all__ = ["SklearnWindowClusterer"]
