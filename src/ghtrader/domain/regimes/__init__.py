"""Market regimes: causal observations, Gaussian-HMM filter / Viterbi, BOCPD changepoints and
realised-volatility buckets. Pure NumPy + numba; model fitting lives in adapters. See
docs/regimes.md.
"""

from ghtrader.domain.regimes.changepoints import Bocpd, BocpdConfig, bocpd, segments_from_run_length
from ghtrader.domain.regimes.errors import RegimeError
from ghtrader.domain.regimes.hmm import (
    GaussianHmmParams,
    HmmFilter,
    forward_filter,
    log_likelihoods,
    viterbi_path,
)
from ghtrader.domain.regimes.observations import (
    OBSERVATION_NAMES,
    ObservationConfig,
    build_observations,
    run_starts,
)
from ghtrader.domain.regimes.online import OnlineObservations, OnlineRegime, regime_name
from ghtrader.domain.regimes.stability import adjusted_rand_index
from ghtrader.domain.regimes.volatility import (
    assign_vol_buckets,
    fit_vol_buckets,
    realised_vol,
    vol_term_ratio,
)

__all__ = [
    "OBSERVATION_NAMES",
    "Bocpd",
    "BocpdConfig",
    "GaussianHmmParams",
    "HmmFilter",
    "ObservationConfig",
    "OnlineObservations",
    "OnlineRegime",
    "RegimeError",
    "adjusted_rand_index",
    "assign_vol_buckets",
    "bocpd",
    "build_observations",
    "fit_vol_buckets",
    "forward_filter",
    "log_likelihoods",
    "realised_vol",
    "regime_name",
    "run_starts",
    "segments_from_run_length",
    "viterbi_path",
    "vol_term_ratio",
]
