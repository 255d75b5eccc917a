"""The registry: declared fields, taxonomy coverage, definition hashes, docs freshness."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ghtrader.domain.factors import (
    CORE_L5_FACTORS,
    EXTRA_INPUTS,
    FACTOR_REGISTRY,
    GROUPS,
    KINDS,
    SERIES,
    FactorError,
    build_plan,
    factor_names,
    get_factor,
    registry,
    resolve,
)
from ghtrader.domain.factors import _kernels as K
from ghtrader.domain.factors import spec as spec_module
from ghtrader.domain.factors.catalog_doc import factors_markdown
from ghtrader.domain.factors.series import SERIES_KERNELS, kernel_closure
from ghtrader.domain.factors.spec import define
from ghtrader.domain.ticks import TICK_FIELDS

REPO = Path(__file__).resolve().parents[4]
ALLOWED_INPUTS = set(TICK_FIELDS) | {"trading_day"} | set(EXTRA_INPUTS)


def test_at_least_80_factors_covering_every_group():
    specs = registry()
    assert len(specs) >= 80
    assert {s.group for s in specs} == set(GROUPS)
    assert list(FACTOR_REGISTRY) == [s.name for s in specs]


@pytest.mark.parametrize("spec", registry(), ids=lambda s: s.name)
def test_spec_fields_are_valid(spec):
    assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.name)
    assert spec.version >= 1
    assert spec.group in GROUPS
    assert spec.kind in KINDS
    assert spec.series and all(s in SERIES for s in spec.series) or spec.kind == "realspread"
    assert spec.inputs and set(spec.inputs) <= ALLOWED_INPUTS
    assert spec.lookback >= 1
    assert 3.0 <= spec.ttl_s <= 300.0
    assert spec.dtype == "float32"  # the stored dtype (features table, DATASET_DTYPES)
    assert spec.unit and len(spec.formula) >= 10
    assert re.fullmatch(r"[0-9a-f]{32}", spec.definition_hash)
    assert spec.param("mode") in KINDS[spec.kind].modes
    window = spec.param("window", 0)
    if not spec.recursive and spec.kind not in ("value",):
        assert spec.lookback >= window >= 1


def test_issue_taxonomy_is_present():
    required = [
        "ofi_l1_10",
        "ofi_l5_10",
        "ofi_int_50",
        "vpin_50",
        "kyle_100",  # order flow
        "spread_ticks",
        "eff_spread_50",
        "realized_spread_10_50",
        "depth_l3",
        "spread_resil_100",  # liquidity
        "amihud_100",  # price impact
        "ret_1",
        "ret_5",
        "ret_10",
        "ret_50",
        "ret_100",
        "ret_500",
        "acc_10",  # momentum
        "rv_100",
        "parkinson_100",
        "gk_100",
        "har_rv_1000",
        "har_rv_5000",
        "har_rv_today",
        "har_rv_prevday",
        "vwap_dev_50",
        "vol_surprise_10_500",
        "tod_vol_ratio_50",  # volume
        "imb_l1",
        "imb_l2",
        "imb_l3",
        "imb_l4",
        "imb_l5",
        "imb_dw",  # book imbalance
        "micro_dev",
        "book_pressure",  # pressure
        "slope_bid",
        "curv_bid",
        "conc_bid",  # shape
        "arrival_rate_50",
        "cancel_rate_50",
        "quote_life_50",  # dynamics
        "xcorr_cu_100",
        "xz_au_500",
        "xlead_ag_500",  # cross-asset
        "vol_regime_100",  # regime
    ]
    missing = [n for n in required if n not in FACTOR_REGISTRY]
    assert not missing


def test_core_set():
    assert 15 <= len(CORE_L5_FACTORS) <= 20
    assert len(set(CORE_L5_FACTORS)) == len(CORE_L5_FACTORS)
    assert set(CORE_L5_FACTORS) <= set(FACTOR_REGISTRY)
    assert any(get_factor(n).group == "book_imbalance" for n in CORE_L5_FACTORS)


def test_definition_hashes_are_unique():
    hashes = [s.definition_hash for s in registry()]
    assert len(set(hashes)) == len(hashes)


def test_definition_hashes_are_stable_across_processes():
    code = (
        "import json; from ghtrader.domain.factors import registry; "
        "print(json.dumps({s.name: s.definition_hash for s in registry()}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout) == {s.name: s.definition_hash for s in registry()}


def test_hash_follows_the_definition():
    base = {
        "name": "t_ratio",
        "group": "order_flow",
        "kind": "ratio",
        "series": ("q", "dvol"),
        "window": 10,
        "unit": "1",
        "formula": "sum(q) / sum(dvol)",
    }
    h = define(**base).definition_hash
    assert define(**base).definition_hash == h
    assert define(**{**base, "window": 11}).definition_hash != h
    assert define(**{**base, "formula": "sum(q) / sum(dvol) over 10"}).definition_hash != h
    assert define(**{**base, "version": 2}).definition_hash != h
    other_kernel = {**base, "kind": "moments", "series": ("q", "dvol"), "mode": "beta"}
    assert define(**other_kernel).definition_hash != h


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"group": "nope"}, "unknown group"),
        ({"kind": "nope"}, "unknown kind"),
        ({"series": ("q", "nope")}, "unknown base series"),
        ({"series": ("q",)}, "reads 2 base series"),
        ({"mode": "nope"}, "has no mode"),
        ({"window": 0}, "needs window"),
        ({"name": "Bad-Name"}, "invalid factor name"),
        ({"formula": "  "}, "formula text"),
    ],
)
def test_define_rejects_bad_specs(kwargs, message):
    base = {
        "name": "t_ratio",
        "group": "order_flow",
        "kind": "ratio",
        "series": ("q", "dvol"),
        "window": 10,
        "unit": "1",
        "formula": "sum(q) / sum(dvol)",
    }
    with pytest.raises(FactorError, match=message):
        define(**{**base, **kwargs})


def test_resolve_and_lookups():
    assert [s.name for s in resolve(["ret_1", "imb_l1"])] == ["ret_1", "imb_l1"]
    assert len(resolve(None)) == len(FACTOR_REGISTRY)
    with pytest.raises(FactorError, match="unknown factor"):
        resolve(["ret_1", "nope"])
    with pytest.raises(FactorError, match="twice"):
        resolve(["ret_1", "ret_1"])
    with pytest.raises(FactorError, match="not the string"):
        resolve("ret_1")
    with pytest.raises(FactorError, match="no factor"):
        resolve([])
    assert set(factor_names("momentum")) == {s.name for s in registry() if s.group == "momentum"}
    with pytest.raises(FactorError):
        factor_names("nope")


def test_base_series_indices_cover_the_kernel_vector():
    assert sorted(s.index for s in SERIES.values()) == list(range(K.NB))
    assert all(s.lookback in (1, 2) for s in SERIES.values())


def test_plan_state_layout_is_disjoint_and_sized():
    plan = build_plan(None)
    offsets = plan.ops[:, K.O_OFF]
    sizes = [
        K.state_size(int(r[K.O_KIND]), int(r[K.O_W]), int(r[K.O_W2]), int(r[K.O_MASK]), int(r[K.O_MASK2]))
        for r in plan.ops
    ]
    assert offsets[0] == 0
    assert all(offsets[j] + sizes[j] == offsets[j + 1] for j in range(len(sizes) - 1))
    assert offsets[-1] + sizes[-1] == plan.state_size
    # a plan for a subset only runs the series kernels (and reads the raw columns) of that subset
    small = build_plan(["ret_1", "imb_l1"])
    assert set(np.flatnonzero(small.groups)) == {K.S_MID, K.S_LOGMID, K.F_L1}
    assert not small.needs_extras
    assert build_plan(["xret_cu_10"]).needs_extras


def test_series_kernels_cover_every_series_and_their_dependencies():
    assert {b.group for b in SERIES.values()} <= set(SERIES_KERNELS)
    flags = [flag for flag, _, _ in SERIES_KERNELS.values()]
    assert sorted(flags) == list(range(K.N_SK))
    for name, (flag, deps, _) in SERIES_KERNELS.items():
        assert all(SERIES_KERNELS[d][0] < flag for d in deps), f"{name} runs before a kernel it reads"
    assert set(spec_module._SERIES_KERNEL_FNS) == set(SERIES_KERNELS), "every series kernel feeds the hash"
    assert kernel_closure(("ret",)) == ("mid", "logmid", "returns")
    assert kernel_closure(("ofisum",)) == ("lots", "ofi")


def test_docs_are_up_to_date():
    path = REPO / "docs" / "factors.md"
    assert path.read_text(encoding="utf-8") == factors_markdown(), "regenerate docs/factors.md (see its header)"
