"""Gaussian-HMM fitting with hmmlearn (the only package that imports it)."""

from ghtrader.adapters.hmm.fitter import HmmlearnRegimeFitter

__all__ = ["HmmlearnRegimeFitter"]
