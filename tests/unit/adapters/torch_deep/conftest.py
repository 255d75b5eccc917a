"""Deep-model tests run torch on one CPU thread: the models are tiny, and on a shared 2-core
machine an OpenMP barrier waiting for a descheduled second thread makes small ops 100x slower."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
