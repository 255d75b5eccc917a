"""Regime model artifacts: JSON round trip, listing, rejected ids."""

from __future__ import annotations

import pytest

from ghtrader.adapters.filesystem.regime_models import FilesystemRegimeModelStore
from ghtrader.application.errors import InvalidArgument


def test_save_load_list(tmp_path):
    store = FilesystemRegimeModelStore(tmp_path / "regimes")
    assert store.model_ids() == []
    where = store.save_model("KQ.m@SHFE.cu-hmm3-abc", {"kind": "hmm", "params": {"means": [[1.0]]}})
    assert where.endswith("KQ.m@SHFE.cu-hmm3-abc.json")
    assert store.load_model("KQ.m@SHFE.cu-hmm3-abc")["params"]["means"] == [[1.0]]
    assert store.model_ids() == ["KQ.m@SHFE.cu-hmm3-abc"]
    with pytest.raises(KeyError):
        store.load_model("missing")
    for bad in ("../x", "a/b", ""):
        with pytest.raises(InvalidArgument):
            store.save_model(bad, {})
