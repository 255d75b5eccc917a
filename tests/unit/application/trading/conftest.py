from __future__ import annotations

from pathlib import Path

import pytest

from .world import TradingWorld, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> TradingWorld:
    return build_world(Path(tmp_path_factory.mktemp("trading")))
