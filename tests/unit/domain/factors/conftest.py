"""Session fixtures: the synthetic tick batch and the full batch and online runs over it."""

from __future__ import annotations

import numpy as np
import pytest

from ._synth import Synth, make_synth, run_batch, run_online


@pytest.fixture(scope="session")
def synth() -> Synth:
    return make_synth()


@pytest.fixture(scope="session")
def batch_all(synth: Synth) -> tuple[np.ndarray, tuple[str, ...]]:
    return run_batch(synth)


@pytest.fixture(scope="session")
def online_all(synth: Synth) -> np.ndarray:
    return run_online(synth)
