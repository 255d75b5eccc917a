"""``StoreFrameSource``: FeatureFrames read from the dataset store (FrameSource port).

A frame's rows are the ticks of ``symbol`` / ``ticks_lake`` with both a stored features row and
a stored labels row (inner join on ``datetime_ns``). ``mid`` and ``spread`` come from the level-1
quotes of the same rows in the tick store (NaN where the tick row is absent or a side is empty).
``extras`` carries the realized moves ``dmid_h{h}`` the labels build stored (for alpha decay and
costed evaluation) and, with an :class:`OracleSource`, the oracle's ``oracle_direction`` and
``oracle_dmid`` aligned by (contract, trading day, ``datetime_ns``): for main_l5 rows the
contract is the row's ``underlying_contract``. The oracle's Bayes class probabilities
``bayes_p_down`` / ``bayes_p_flat`` / ``bayes_p_up`` and ``bayes_se`` (the largest of their
three Monte Carlo standard errors) are filled on a seeded random sample of at most
``oracle_sample_per_day`` rows per contract-day (NaN elsewhere and where undefined).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.datasets import DatasetStore
from ghtrader.application.ports.models import (
    FeatureFrame,
    FrameProvenance,
    OracleSource,
)
from ghtrader.application.ports.stores import LAKE_VERSION, TICKS_LAKES, TickStore
from ghtrader.domain.errors import DomainError
from ghtrader.domain.instruments import contract_spec

__all__ = ["BAYES_EXTRAS", "DEFAULT_EXTRA_HORIZONS", "DEFAULT_ORACLE_SAMPLE_PER_DAY", "StoreFrameSource"]

#: Realized-move horizons copied into ``extras`` when the labels build stored them.
DEFAULT_EXTRA_HORIZONS: tuple[int, ...] = (10, 50, 100, 200)
#: Rows per contract-day that get the oracle's Bayes class probabilities (a seeded sample).
DEFAULT_ORACLE_SAMPLE_PER_DAY = 20_000
#: Extras keys of the Bayes class probabilities (DOWN, FLAT, UP) and their largest standard error.
BAYES_EXTRAS: tuple[str, ...] = ("bayes_p_down", "bayes_p_flat", "bayes_p_up", "bayes_se")


class StoreFrameSource:
    """FrameSource over a DatasetStore (features, labels, build metadata) and a TickStore.

    Args:
        datasets, ticks: the stores.
        oracle: optional oracle; when given every frame carries ``oracle_direction`` (label
            codes, threshold ``oracle_threshold_ticks * price_tick``) and ``oracle_dmid``.
        extra_horizons: horizons of the ``dmid_h{h}`` extras (those stored are copied).
        oracle_threshold_ticks: the oracle's class threshold in ticks (default: the labels'
            ``k`` from the labels build, else 1).
        oracle_sample_per_day: rows per contract-day (a random sample, all rows of a smaller
            day) that get the Bayes extras ``bayes_p_down/flat/up`` and ``bayes_se``, computed
            with the labels build's ``k``; 0 skips them.
        oracle_sample_seed: seed of that sample (rows are drawn per contract-day from it).
    """

    def __init__(
        self,
        *,
        datasets: DatasetStore,
        ticks: TickStore,
        oracle: OracleSource | None = None,
        extra_horizons: Sequence[int] = DEFAULT_EXTRA_HORIZONS,
        oracle_threshold_ticks: float | None = None,
        oracle_sample_per_day: int = DEFAULT_ORACLE_SAMPLE_PER_DAY,
        oracle_sample_seed: int = 0,
    ) -> None:
        if (
            isinstance(oracle_sample_per_day, bool)
            or not isinstance(oracle_sample_per_day, int)
            or oracle_sample_per_day < 0
        ):
            raise InvalidArgument(f"invalid oracle_sample_per_day {oracle_sample_per_day!r}: expected an int >= 0")
        self._datasets = datasets
        self._ticks = ticks
        self._oracle = oracle
        self._extra_horizons = tuple(int(h) for h in extra_horizons)
        self._oracle_k = oracle_threshold_ticks
        self._sample_per_day = oracle_sample_per_day
        self._sample_seed = int(oracle_sample_seed)

    def load(
        self,
        symbol: str,
        ticks_lake: str,
        start_day: date,
        end_day: date,
        horizon: int,
        feature_names: Sequence[str],
    ) -> tuple[FeatureFrame, FrameProvenance]:
        names = tuple(feature_names)
        _check_request(ticks_lake, start_day, end_day, horizon, names)
        label_col = f"dir_h{horizon}"
        self._check_columns(names, label_col, horizon)
        label_cols = self._label_columns(label_col, horizon)

        feats = self._datasets.read("features", symbol, start_day, end_day, ticks_lake=ticks_lake, columns=names)
        if feats["datetime_ns"].shape[0] == 0:
            raise NotFound(
                f"no features of {symbol} ({ticks_lake}) stored for {start_day}..{end_day}: run build for that range"
            )
        labs = self._datasets.read("labels", symbol, start_day, end_day, ticks_lake=ticks_lake, columns=label_cols)
        if labs["datetime_ns"].shape[0] == 0:
            raise NotFound(
                f"no labels of {symbol} ({ticks_lake}) stored for {start_day}..{end_day}: build the labels kind too"
            )
        _, fi, li = np.intersect1d(feats["datetime_ns"], labs["datetime_ns"], assume_unique=True, return_indices=True)
        if fi.shape[0] == 0:
            raise NotFound(
                f"features and labels of {symbol} ({ticks_lake}) in {start_day}..{end_day} share no tick: "
                "rebuild both kinds over the same days"
            )
        dt = feats["datetime_ns"][fi]
        trading_day = feats["trading_day"][fi].astype("datetime64[D]")
        segment = feats["segment_id"][fi].astype(np.int64)
        if ticks_lake != "main_l5":
            segment = np.zeros(dt.shape[0], dtype=np.int64)
        underlying = feats["underlying_contract"][fi]

        feature_meta = self._build_meta(feats["build_id"][fi], "features")
        label_meta = self._build_meta(labs["build_id"][li], "labels")
        price_tick = _price_tick(symbol, feature_meta[2])
        k = _label_k(label_meta[2])

        stored = self._ticks.read_ticks(symbol, ticks_lake, start_day, end_day)
        mid, spread, tick_pos = _quotes(stored.ticks, dt)
        extras: dict[str, np.ndarray] = {
            name: labs[name][li].astype(np.float64) for name in label_cols if name.startswith("dmid_h")
        }
        if self._oracle is not None:
            threshold = (self._oracle_k if self._oracle_k is not None else k) * price_tick
            contracts = underlying if ticks_lake == "main_l5" else np.full(dt.shape[0], symbol, dtype=object)
            extras.update(
                _oracle_extras(
                    self._oracle,
                    symbol,
                    stored.trading_day,
                    trading_day,
                    contracts,
                    tick_pos,
                    horizon,
                    threshold,
                    _BayesSample(k, self._sample_per_day, self._sample_seed),
                )
            )

        frame = FeatureFrame(
            features=np.ascontiguousarray(np.column_stack([feats[n][fi] for n in names]), dtype=np.float32),
            feature_names=names,
            labels=labs[label_col][li].astype(np.float64),
            segment_id=segment,
            datetime_ns=dt.astype(np.int64),
            trading_day=trading_day,
            mid=mid,
            spread=spread,
            symbol=symbol,
            horizon=int(horizon),
            price_tick=price_tick,
            extras=extras,
        )
        provenance = FrameProvenance(
            feature_build_id=",".join(feature_meta[0]),
            label_build_id=",".join(label_meta[0]),
            schedule_hash=self._schedule_hash(symbol, ticks_lake, start_day, end_day, stored.schedule_hash),
            ticks_lake=ticks_lake,
            lake_version=LAKE_VERSION,
            config_hash=f"features:{feature_meta[1]};labels:{label_meta[1]}",
        )
        return frame, provenance

    # --- columns and metadata --------------------------------------------------------------------
    def _check_columns(self, names: tuple[str, ...], label_col: str, horizon: int) -> None:
        have = set(self._datasets.column_names("features"))
        missing = [n for n in names if n not in have]
        if missing:
            raise InvalidArgument(
                f"features not built: {', '.join(missing)}; build them first (ghtrader build --factors ...)"
            )
        labels = self._datasets.column_names("labels")
        if label_col not in labels:
            built = sorted(int(c[5:]) for c in labels if c.startswith("dir_h") and c[5:].isdigit())
            raise InvalidArgument(
                f"no labels of horizon {horizon} ({label_col}); built direction horizons: {built or 'none'} - "
                f"build labels with direction horizon {horizon}"
            )

    def _label_columns(self, label_col: str, horizon: int) -> list[str]:
        labels = set(self._datasets.column_names("labels"))
        wanted = [f"dmid_h{h}" for h in sorted({horizon, *self._extra_horizons})]
        return [label_col, *[c for c in wanted if c in labels]]

    def _build_meta(self, build_ids: np.ndarray, kind: str) -> tuple[list[str], str, Mapping[str, object]]:
        """(distinct build ids, the one config hash, the newest build's params)."""
        ids = sorted({str(b) for b in build_ids if b is not None})
        metas = [m for m in (self._datasets.get_build(b) for b in ids) if m is not None]
        hashes = sorted({m.config_hash for m in metas})
        if len(hashes) > 1:
            raise FailedPrecondition(
                f"the {kind} rows come from builds of different configs ({', '.join(hashes)}): rebuild with overwrite"
            )
        params = max(metas, key=lambda m: m.created_at_ns).params if metas else {}
        return ids, hashes[0] if hashes else "", params

    def _schedule_hash(self, symbol: str, lake: str, start_day: date, end_day: date, per_row: np.ndarray | None) -> str:
        if lake != "main_l5":
            return ""
        found = {p.schedule_hash for p in self._datasets.main_l5_provenance(symbol, start_day, end_day)}
        if not found and per_row is not None:
            found = {str(h) for h in np.unique(per_row.astype(str))}
        return ",".join(sorted(found))


@dataclass(frozen=True, slots=True)
class _BayesSample:
    k_ticks: float  # the labels' threshold in ticks
    per_day: int  # rows per contract-day
    seed: int


def _sample_rows(rows: np.ndarray, contract: str, day: np.datetime64, sample: _BayesSample) -> np.ndarray:
    """A seeded random subset (sorted) of ``rows``: at most ``sample.per_day``, all when fewer."""
    if rows.shape[0] <= sample.per_day:
        return rows
    ordinal = int(day.astype("datetime64[D]").astype(np.int64))
    rng = np.random.default_rng([sample.seed, ordinal, zlib.crc32(contract.encode("utf-8"))])
    return np.sort(rng.choice(rows, size=sample.per_day, replace=False))


def _oracle_extras(
    oracle: OracleSource,
    symbol: str,
    tick_day: np.ndarray,
    trading_day: np.ndarray,
    contracts: np.ndarray,
    tick_pos: np.ndarray,
    horizon: int,
    threshold: float,
    sample: _BayesSample,
) -> dict[str, np.ndarray]:
    """Oracle arrays are aligned with a contract-day's ticks: the tick store's rows of that
    day (main_l5 copies the underlying's raw rows one for one). A day whose row count differs
    from the oracle's stays NaN."""
    n = trading_day.shape[0]
    direction = np.full(n, np.nan)
    move = np.full(n, np.nan)
    bayes = np.full((n, 3), np.nan)
    bayes_se = np.full(n, np.nan)
    tick_day = np.asarray(tick_day).astype("datetime64[D]")
    keys = np.char.add(np.asarray(contracts, dtype=str), np.asarray(trading_day, dtype=str))
    _, first_rows, group = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(first_rows.shape[0] + 1))
    for g, start in enumerate(first_rows):
        rows = order[bounds[g] : bounds[g + 1]]
        rows = rows[tick_pos[rows] >= 0]
        day = trading_day[start]
        contract = str(contracts[start]) if contracts[start] is not None else symbol
        lo, hi = np.searchsorted(tick_day, day, "left"), np.searchsorted(tick_day, day, "right")
        the_day = day.astype(object)
        d = oracle.oracle_direction(contract, the_day, horizon, threshold)
        e = oracle.expected_move(contract, the_day, horizon)
        if d is None or e is None or d.shape[0] != hi - lo or e.shape[0] != hi - lo:
            continue
        at = tick_pos[rows] - lo
        direction[rows] = d[at]
        move[rows] = e[at]
        if sample.per_day == 0:
            continue
        picked = _sample_rows(rows, contract, day, sample)
        found = oracle.class_probabilities(contract, the_day, horizon, sample.k_ticks, tick_pos[picked] - lo)
        if found is None:
            continue
        probs, se = found
        bayes[picked] = probs
        bayes_se[picked] = se.max(axis=1)
    return {
        "oracle_direction": direction,
        "oracle_dmid": move,
        "bayes_p_down": bayes[:, 0],
        "bayes_p_flat": bayes[:, 1],
        "bayes_p_up": bayes[:, 2],
        "bayes_se": bayes_se,
    }


def _check_request(lake: str, start_day: date, end_day: date, horizon: int, names: tuple[str, ...]) -> None:
    if lake not in TICKS_LAKES:
        raise InvalidArgument(f"unknown ticks_lake {lake!r}: expected one of {TICKS_LAKES}")
    if start_day > end_day:
        raise InvalidArgument(f"start_day {start_day} is after end_day {end_day}: swap them")
    if not isinstance(horizon, (int, np.integer)) or isinstance(horizon, bool) or horizon < 1:
        raise InvalidArgument(f"invalid horizon {horizon!r}: expected an int >= 1 (ticks)")
    if not names:
        raise InvalidArgument("no feature names given: name at least one feature column")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidArgument(f"feature names repeated: {', '.join(dupes)}")


def _price_tick(symbol: str, params: Mapping[str, object]) -> float:
    value = params.get("price_tick")
    if isinstance(value, (int, float)) and value > 0:
        return float(value)
    try:
        return float(contract_spec(symbol).price_tick)
    except DomainError as exc:
        raise InvalidArgument(str(exc)) from exc


def _label_k(params: Mapping[str, object]) -> float:
    config = params.get("label_config")
    if isinstance(config, Mapping):
        k = config.get("k")
        if isinstance(k, (int, float)) and k > 0:
            return float(k)
    return 1.0


def _quotes(ticks: np.ndarray, dt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mid, spread, position)`` of the tick rows at ``dt`` (NaN and -1 where absent)."""
    n = dt.shape[0]
    tick_dt = ticks["datetime_ns"]
    pos = np.searchsorted(tick_dt, dt)
    found = pos < tick_dt.shape[0]
    found[found] = tick_dt[pos[found]] == dt[found]
    pos = np.where(found, pos, -1)
    mid = np.full(n, np.nan)
    spread = np.full(n, np.nan)
    if found.any():
        bid = ticks["bid_price1"][pos[found]].astype(np.float64)
        ask = ticks["ask_price1"][pos[found]].astype(np.float64)
        with np.errstate(invalid="ignore"):
            ok = (bid > 0) & (ask > 0)
        mid[found] = np.where(ok, (bid + ask) / 2.0, np.nan)
        spread[found] = np.where(ok, ask - bid, np.nan)
    return mid, spread, pos
