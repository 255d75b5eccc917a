"""K-means and Gaussian-mixture clustering of observation rows (scikit-learn).

Rows are standardised with the training rows' mean and std; clusters are renumbered by
ascending mean of the ``order_column`` (volatility) so ids are stable across refits.
"""

from __future__ import annotations

import numpy as np

from ghtrader.application.errors import InvalidArgument

__all__ = ["CLUSTER_METHODS", "SklearnWindowClusterer"]

CLUSTER_METHODS = ("kmeans", "gmm")


class SklearnWindowClusterer:
    """:class:`ghtrader.application.ports.regimes.WindowClusterer` on scikit-learn."""

    def fit_predict(
        self, train: np.ndarray, rows: np.ndarray, n_clusters: int, method: str, seed: int, order_column: int = 0
    ) -> np.ndarray:
        from sklearn.cluster import KMeans  # type: ignore[import-untyped]  # slow import: on first use only
        from sklearn.mixture import GaussianMixture  # type: ignore[import-untyped]

        if method not in CLUSTER_METHODS:
            raise InvalidArgument(f"unknown clustering {method!r}: expected {', '.join(CLUSTER_METHODS)}")
        a = np.asarray(train, dtype=np.float64)
        r = np.asarray(rows, dtype=np.float64)
        if a.ndim != 2 or r.ndim != 2 or a.shape[1] != r.shape[1]:
            raise InvalidArgument("train and rows must be (T, D) matrices of the same D")
        if not (np.isfinite(a).all() and np.isfinite(r).all()):
            raise InvalidArgument("clustering needs finite rows")
        if a.shape[0] < 5 * n_clusters or n_clusters < 2:
            raise InvalidArgument(f"need n_clusters >= 2 and at least {5 * n_clusters} training rows")
        mean = a.mean(axis=0)
        scale = a.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        z, zr = (a - mean) / scale, (r - mean) / scale
        if method == "kmeans":
            km = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit(z)
            labels, centres = km.predict(zr), km.cluster_centers_
        else:
            gm = GaussianMixture(n_components=n_clusters, covariance_type="full", random_state=seed, n_init=2).fit(z)
            labels, centres = gm.predict(zr), gm.means_
        order = np.argsort(centres[:, order_column], kind="stable")
        rank = np.empty(n_clusters, dtype=np.int64)
        rank[order] = np.arange(n_clusters)
        return rank[np.asarray(labels, dtype=np.int64)]
