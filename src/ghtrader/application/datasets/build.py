"""BuildDataset: factors and labels of one symbol into ``ghtrader_features_v2``,
``ghtrader_labels_v2`` (direction labels) and ``ghtrader_fill_labels_v2`` (fill labels) (wide: one
float column per factor / label).

What a build computes
    The source is the symbol's committed tick days (those with a day manifest) in one lake:
    ``main_l5`` for ``KQ.m@`` aliases, ``raw`` for contracts. Values are computed segment by
    segment (main_l5 segments come from the schedule; a raw contract is one segment), always
    from the segment's first day, so rolling state never spans two segments and a value never
    depends on where a build started. Factors run through the domain's
    :class:`~ghtrader.domain.factors.OnlineFactorEngine` one day at a time (the same kernel and
    state as the batch engine); each label kind looks ahead at most its longest horizon, so each
    day's labels are computed with that many following ticks of the segment.

Incremental and resumable (the default)
    Per kind, a day is *built* when rows written by a build of the same config hash are stored
    and the source it was built from is unchanged (a fingerprint of the source day manifest,
    its segment and, for cross-asset factors, the other varieties' day manifests, recorded in
    the build metadata). The rest are (re)computed: for every segment holding such a day, the
    segment is recomputed from its start and every day from the first changed one is written
    (for labels, from the kind's longest horizon earlier), so an incremental build writes exactly
    the values a full rebuild writes. Each day is written atomically, so an interrupted build
    resumes where it stopped.

Config hashes
    ``features``: the factor set (name, version, definition hash), price tick, multiplier and
    cross-asset inputs; ``labels`` / ``fill_labels``: the hash of the
    :class:`~ghtrader.domain.labels.LabelConfig` fields of that family and the price tick. A build whose config hash differs from the stored rows' is refused
    (FailedPrecondition naming both) unless ``overwrite``; ``overwrite`` deletes the kind's
    stored rows of another config and recomputes the requested range. Build id, config hash,
    factor set, lookbacks and fingerprints go to ``ghtrader_build_metadata_v2``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ghtrader.application.contract_windows import check_symbol
from ghtrader.application.datasets.registry import (
    SyncFeatureRegistry,
    SyncFeatureRegistryResult,
)
from ghtrader.application.datasets.write_queue import WriteQueue
from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.free_space import FreeSpaceGuard
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.datasets import (
    DATASET_KINDS,
    BuildMetadata,
    DatasetRows,
    DatasetStore,
)
from ghtrader.application.ports.reports import ReportSink
from ghtrader.application.ports.stores import (
    TICKS_LAKES,
    DayManifest,
    IndexStore,
    StoredTicks,
    TickStore,
)
from ghtrader.application.progress import ProgressCallback, no_progress
from ghtrader.application.reporting import make_run_id, to_jsonable
from ghtrader.domain.errors import DomainError
from ghtrader.domain.factors import (
    EXTRA_INPUTS,
    FactorSpec,
    OnlineFactorEngine,
    resolve,
)
from ghtrader.domain.instruments import (
    ContinuousSymbol,
    continuous_symbol,
    contract_spec,
    parse_symbol,
)
from ghtrader.domain.labels import LabelConfig, compute_labels, label_names

__all__ = [
    "BuildDataset",
    "BuildDatasetRequest",
    "BuildDatasetResult",
    "KindBuildResult",
    "features_config_hash",
    "labels_config_hash",
]

FEATURES = "features"
LABELS = "labels"
FILL_LABELS = "fill_labels"
MAIN_L5 = "main_l5"
#: The label family each label kind stores.
_LABEL_PART = {LABELS: "direction", FILL_LABELS: "fill"}


@dataclass(frozen=True)
class BuildDatasetRequest:
    """Build ``kinds`` of ``symbol`` for the source days in [start_day, end_day] (default: all).

    ``ticks_lake``: None picks ``main_l5`` for a ``KQ.m@`` alias and ``raw`` for a contract.
    ``factors``: factor names (None: every registered factor). ``cross_asset``: feed the other
    varieties' main_l5 mids to the cross-asset factors (else those factors are NaN).
    ``price_tick`` / ``multiplier``: None takes the variety's contract spec.
    """

    symbol: str
    ticks_lake: str | None = None
    start_day: date | None = None
    end_day: date | None = None
    factors: tuple[str, ...] | None = None
    labels: LabelConfig = field(default_factory=LabelConfig)
    kinds: tuple[str, ...] = DATASET_KINDS
    overwrite: bool = False
    cross_asset: bool = True
    price_tick: float | None = None
    multiplier: float | None = None


@dataclass
class KindBuildResult:
    kind: str
    config_hash: str
    build_id: str | None  # None: nothing to do
    columns: list[str]
    days_written: list[date]
    days_deleted: list[date]
    days_up_to_date: int
    rows_written: int


@dataclass
class BuildDatasetResult:
    symbol: str
    ticks_lake: str
    source_days: int  # committed source days in the range
    segments_computed: int
    kinds: dict[str, KindBuildResult]
    registry: SyncFeatureRegistryResult | None
    duration_s: float
    run_id: str = ""
    report_path: str | None = None


def _sha(payload: object) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def features_config_hash(
    specs: Sequence[FactorSpec], price_tick: float, multiplier: float | None, extras: Mapping[str, str]
) -> str:
    """Config hash of a features build: factor set with versions and definition hashes, price
    tick, multiplier and the cross-asset sources."""
    return _sha(
        {
            "kind": FEATURES,
            "factors": [[s.name, int(s.version), s.definition_hash] for s in specs],
            "price_tick": float(price_tick),
            "multiplier": None if multiplier is None else float(multiplier),
            "extras": dict(sorted(extras.items())),
        }
    )


def labels_config_hash(config: LabelConfig, price_tick: float, kind: str = LABELS) -> str:
    """Config hash of a ``labels`` (direction) or ``fill_labels`` build: the hash of that label
    family's config fields and the price tick."""
    if kind not in _LABEL_PART:
        raise InvalidArgument(f"invalid label kind {kind!r}: expected one of {tuple(_LABEL_PART)}")
    return _sha({"kind": kind, "labels": config.part_hash(_LABEL_PART[kind]), "price_tick": float(price_tick)})


@dataclass
class _KindPlan:
    kind: str
    config_hash: str
    columns: list[str]
    params: dict[str, object]
    changed: set[date]  # source days in range to (re)compute
    built: set[date]  # days stored under this config before the build
    orphans: list[date]  # stored days in range whose source is gone
    fingerprints: dict[date, str]
    up_to_date: int
    build_id: str = ""
    written: list[date] = field(default_factory=list)
    rows: int = 0
    recorded: dict[str, str] = field(default_factory=dict)


@dataclass
class _Day:
    day: date
    stored: StoredTicks
    segment: np.ndarray  # int64 per row

    def __len__(self) -> int:
        return len(self.stored)


class BuildDataset:
    """Build features and labels of one symbol (``build``), incrementally by default."""

    def __init__(
        self,
        *,
        ticks: TickStore,
        index: IndexStore,
        datasets: DatasetStore,
        clock: Clock,
        reports: ReportSink | None = None,
        free_space: FreeSpaceGuard | None = None,
    ) -> None:
        self._ticks = ticks
        self._index = index
        self._datasets = datasets
        self._clock = clock
        self._reports = reports
        self._free_space = free_space

    # --- request checks ------------------------------------------------------------------------
    def __call__(self, request: BuildDatasetRequest, progress: ProgressCallback = no_progress) -> BuildDatasetResult:
        symbol = check_symbol(request.symbol)
        parsed = parse_symbol(symbol)
        lake = request.ticks_lake or (MAIN_L5 if isinstance(parsed, ContinuousSymbol) else "raw")
        if lake not in TICKS_LAKES:
            raise InvalidArgument(f"unknown ticks_lake {lake!r}: expected one of {TICKS_LAKES}")
        kinds = tuple(dict.fromkeys(request.kinds))
        if not kinds or any(k not in DATASET_KINDS for k in kinds):
            raise InvalidArgument(f"invalid kinds {request.kinds!r}: expected some of {DATASET_KINDS}")
        if request.start_day is not None and request.end_day is not None and request.start_day > request.end_day:
            raise InvalidArgument(f"start_day {request.start_day} is after end_day {request.end_day}: swap them")
        try:
            specs = resolve(request.factors)
            spec = contract_spec(symbol)
        except DomainError as exc:
            raise InvalidArgument(str(exc)) from exc
        price_tick = float(request.price_tick if request.price_tick is not None else spec.price_tick)
        multiplier = request.multiplier if request.multiplier is not None else spec.multiplier
        if not (np.isfinite(price_tick) and price_tick > 0):
            raise InvalidArgument(f"invalid price_tick {request.price_tick!r}: expected a number > 0")

        if self._free_space is not None:
            self._free_space.check(f"a build of {symbol}")
        started = self._clock.monotonic_s()
        now_ns = self._clock.now_ns()

        lo = request.start_day or date.min
        hi = request.end_day or date.max
        source = {m.trading_day: m for m in self._index.manifests(symbol, lake)}
        in_range = sorted(d for d in source if lo <= d <= hi)
        if not in_range:
            hint = "run main-l5 first" if lake == MAIN_L5 else "download it first"
            raise FailedPrecondition(f"no committed {lake} ticks of {symbol} in the range: {hint}")
        segments = self._segments(symbol, lake, source)

        # Cross-asset inputs: the other varieties' main_l5 mids (never the symbol's own variety).
        extras: dict[str, str] = {}
        needed = {c for s in specs for c in s.inputs if c in EXTRA_INPUTS}
        if request.cross_asset and FEATURES in kinds:
            own = parsed.variety
            for name in sorted(needed):
                variety = name.split("_", 1)[0]
                if variety != own:
                    extras[name] = continuous_symbol(parsed.exchange, variety)
        extra_manifests = {
            name: {m.trading_day: m for m in self._index.manifests(other, MAIN_L5)} for name, other in extras.items()
        }

        def fingerprint(day: date, kind: str) -> str:
            m = source[day]
            fp = f"{m.rows_total}:{m.row_hash_sum}:{m.row_hash_sum_abs}:{segments[day]}"
            if kind == FEATURES:
                for name in sorted(extra_manifests):
                    em = extra_manifests[name].get(day)
                    fp += f"|{name}=" + ("-" if em is None else f"{em.rows_total}:{em.row_hash_sum}")
            return fp

        lookahead = {k: request.labels.lookahead(p) for k, p in _LABEL_PART.items()}
        base_params: dict[str, object] = {"symbol": symbol, "ticks_lake": lake, "price_tick": price_tick}
        plans: dict[str, _KindPlan] = {}
        for kind in kinds:
            if kind == FEATURES:
                cfg = features_config_hash(specs, price_tick, multiplier, extras)
                columns = [s.name for s in specs]
                params = base_params | {
                    "factors": columns,
                    "lookbacks": {s.name: int(s.lookback) for s in specs},
                    "definition_hashes": {s.name: s.definition_hash for s in specs},
                    "multiplier": multiplier,
                    "cross_asset": dict(extras),
                }
            else:
                part = _LABEL_PART[kind]
                cfg = labels_config_hash(request.labels, price_tick, kind)
                columns = list(label_names(request.labels, part))
                params = base_params | {
                    "label_config": request.labels.to_dict(),
                    "label_config_hash": request.labels.part_hash(part),
                    "columns": columns,
                    "lookahead_ticks": lookahead[kind],
                }
            plans[kind] = self._plan_kind(
                kind,
                cfg,
                columns,
                params,
                symbol,
                lake,
                request,
                source,
                in_range,
                {d: fingerprint(d, kind) for d in source},
            )
        # Refuse before writing anything: never mix two configs in one dataset.
        for plan in plans.values():
            others = [h for h in self._datasets.stored_config_hashes(plan.kind, symbol, lake) if h != plan.config_hash]
            if others and not request.overwrite:
                raise FailedPrecondition(
                    f"{plan.kind} of {symbol} ({lake}) are stored with config {', '.join(others)}; this build's "
                    f"config is {plan.config_hash}: pass overwrite=True to rebuild them"
                )
        registry_result = None
        if FEATURES in kinds:
            registry_result = SyncFeatureRegistry(datasets=self._datasets, clock=self._clock)()
        for plan in plans.values():
            self._start_kind(plan, symbol, lake, request, now_ns)

        # Segment work: the first changed day of each kind per segment.
        source_days = sorted(source)
        seg_days: dict[int, list[date]] = {}
        for d in source_days:
            seg_days.setdefault(segments[d], []).append(d)
        first_change: dict[int, dict[str, date]] = {}
        for plan in plans.values():
            for d in plan.changed:
                _note(first_change, segments[d], plan.kind, d)
            for o in plan.orphans:  # a vanished day changes its neighbours in the segment
                pos = int(np.searchsorted(np.array(source_days, dtype="datetime64[D]"), np.datetime64(o, "D")))
                for k in (pos - 1, pos):
                    if 0 <= k < len(source_days):
                        _note(first_change, segments[source_days[k]], plan.kind, o)

        work = sorted(first_change)
        with WriteQueue() as writes:
            for i, seg in enumerate(work):
                progress(i, len(work), f"{symbol}: segment {seg} ({seg_days[seg][0]}..{seg_days[seg][-1]})")
                self._build_segment(
                    symbol,
                    lake,
                    seg_days[seg],
                    first_change[seg],
                    plans,
                    specs,
                    price_tick,
                    multiplier,
                    request.labels,
                    lookahead,
                    extras,
                    source,
                    lo,
                    hi,
                    now_ns,
                    writes,
                )
        progress(len(work), len(work), f"{symbol}: {len(work)} segments computed")

        result = BuildDatasetResult(
            symbol=symbol,
            ticks_lake=lake,
            source_days=len(in_range),
            segments_computed=len(work),
            kinds={
                p.kind: KindBuildResult(
                    kind=p.kind,
                    config_hash=p.config_hash,
                    build_id=p.build_id or None,
                    columns=p.columns,
                    days_written=sorted(p.written),
                    days_deleted=list(p.orphans),
                    # a day recomputed only for a neighbour's warm-up is written, not also up to date
                    days_up_to_date=p.up_to_date - len(set(p.written) - p.changed),
                    rows_written=p.rows,
                )
                for p in plans.values()
            },
            registry=registry_result,
            duration_s=self._clock.monotonic_s() - started,
            run_id=make_run_id(now_ns, f"build_{symbol}"),
        )
        if self._reports is not None:
            payload = {"use_case": "build", "request": to_jsonable(request), "result": to_jsonable(result)}
            result.report_path = self._reports.write_json("build", result.run_id, payload)
        return result

    # --- planning ------------------------------------------------------------------------------
    def _segments(self, symbol: str, lake: str, source: Mapping[date, DayManifest]) -> dict[date, int]:
        """Segment id of every source day: main_l5 provenance (or the stored rows); raw: 0."""
        if lake != MAIN_L5:
            return {d: 0 for d in source}
        prov = {p.trading_day: p.segment_id for p in self._datasets.main_l5_provenance(symbol)}
        out: dict[date, int] = {}
        for d in source:
            seg = prov.get(d)
            if seg is None:
                stored = self._ticks.read_ticks(symbol, lake, d, d)
                ids = np.unique(stored.segment_id) if stored.segment_id is not None else np.empty(0)
                if ids.shape[0] != 1:
                    raise FailedPrecondition(
                        f"main_l5 {symbol} on {d} has no single segment id ({ids.tolist()}): run main-l5 again"
                    )
                seg = int(ids[0])
            out[d] = int(seg)
        return out

    def _stored_fingerprints(self, kind: str, config_hash: str, symbol: str, lake: str) -> dict[str, str]:
        merged: dict[str, str] = {}
        for b in self._datasets.builds(kind):
            p = b.params
            if b.config_hash == config_hash and p.get("symbol") == symbol and p.get("ticks_lake") == lake:
                merged.update(p.get("fingerprints") or {})
        return merged

    def _plan_kind(
        self,
        kind: str,
        config_hash: str,
        columns: list[str],
        params: dict[str, object],
        symbol: str,
        lake: str,
        request: BuildDatasetRequest,
        source: Mapping[date, DayManifest],
        in_range: list[date],
        fingerprints: dict[date, str],
    ) -> _KindPlan:
        lo = request.start_day or date.min
        hi = request.end_day or date.max
        built = set(self._datasets.built_days(kind, symbol, lake, config_hash))
        orphans = sorted(d for d in built if lo <= d <= hi and d not in source)
        if request.overwrite:
            changed = set(in_range)
        else:
            stored = self._stored_fingerprints(kind, config_hash, symbol, lake)
            changed = {d for d in in_range if d not in built or stored.get(d.isoformat()) != fingerprints[d]}
        return _KindPlan(
            kind=kind,
            config_hash=config_hash,
            columns=columns,
            params=params,
            changed=changed,
            built=built,
            orphans=orphans,
            fingerprints=fingerprints,
            up_to_date=len(in_range) - len(changed),
        )

    def _start_kind(self, plan: _KindPlan, symbol: str, lake: str, request: BuildDatasetRequest, now_ns: int) -> None:
        """Delete what must go and record the build before its first row is written."""
        if request.overwrite:
            others = [h for h in self._datasets.stored_config_hashes(plan.kind, symbol, lake) if h != plan.config_hash]
            if others:  # a full rebuild under the new config: no row of another config may stay
                stale = [d for d in self._datasets.built_days(plan.kind, symbol, lake) if d not in plan.changed]
                self._datasets.delete_days(plan.kind, symbol, lake, stale)
        if plan.orphans:
            self._datasets.delete_days(plan.kind, symbol, lake, plan.orphans)
        if not plan.changed and not plan.orphans:
            return
        digest = _sha(
            {
                "kind": plan.kind,
                "config": plan.config_hash,
                "symbol": symbol,
                "lake": lake,
                "days": sorted(f"{d.isoformat()}={plan.fingerprints[d]}" for d in plan.changed),
                "orphans": [d.isoformat() for d in plan.orphans],
                "now": now_ns,
            }
        )
        plan.build_id = make_run_id(now_ns, f"{plan.kind}_{digest[:12]}")
        self._put_build(plan, now_ns)

    def _put_build(self, plan: _KindPlan, now_ns: int) -> None:
        params = plan.params | {
            "fingerprints": dict(sorted(plan.recorded.items())),
            "days_written": len(plan.written),
            "rows_written": plan.rows,
            "days_deleted": [d.isoformat() for d in plan.orphans],
        }
        self._datasets.put_build(BuildMetadata(plan.build_id, plan.kind, plan.config_hash, params, now_ns))

    # --- computing -----------------------------------------------------------------------------
    def _load(self, symbol: str, lake: str, day: date) -> _Day:
        stored = self._ticks.read_ticks(symbol, lake, day, day)
        n = len(stored)
        seg = stored.segment_id if lake == MAIN_L5 and stored.segment_id is not None else np.zeros(n, dtype=np.int64)
        return _Day(day, stored, np.asarray(seg, dtype=np.int64))

    def _build_segment(
        self,
        symbol: str,
        lake: str,
        days: list[date],
        first_change: dict[str, date],
        plans: dict[str, _KindPlan],
        specs: Sequence[FactorSpec],
        price_tick: float,
        multiplier: float | None,
        label_config: LabelConfig,
        lookahead: Mapping[str, int],
        extras: Mapping[str, str],
        source: Mapping[date, DayManifest],
        lo: date,
        hi: date,
        now_ns: int,
        writes: WriteQueue,
    ) -> None:
        write_from: dict[str, date] = {}
        if FEATURES in first_change:
            write_from[FEATURES] = first_change[FEATURES]
        changed_labels = [k for k in _LABEL_PART if k in first_change]
        if changed_labels:
            # Labels look ahead: rows up to `lookahead` ticks before the first change may move.
            starts = np.concatenate([[0], np.cumsum([source[d].rows_total for d in days])])
            day_keys = np.array(days, dtype="datetime64[D]")
            for kind in changed_labels:
                first = int(np.searchsorted(day_keys, np.datetime64(first_change[kind], "D")))
                row = max(0, int(starts[first]) - lookahead[kind])
                at = int(np.searchsorted(starts, row, side="right")) - 1
                write_from[kind] = days[min(at, len(days) - 1)]
        # Every day from the first change on moves: those in range, and stored ones outside it
        # (they would go stale otherwise).
        targets = {
            k: [d for d in days if d >= f and (lo <= d <= hi or d in plans[k].built)] for k, f in write_from.items()
        }
        last = max((t[-1] for t in targets.values() if t), default=None)
        if last is None:
            return
        engine = OnlineFactorEngine([s.name for s in specs], price_tick, multiplier) if targets.get(FEATURES) else None
        loaded: dict[date, _Day] = {}

        def get(i: int) -> _Day:
            d = days[i]
            if d not in loaded:
                loaded[d] = self._load(symbol, lake, d)
            return loaded[d]

        for i, d in enumerate(days):
            if d > last:
                break
            for old in [x for x in loaded if x < d]:
                del loaded[old]
            label_kinds = [k for k in _LABEL_PART if d in targets.get(k, ())]
            if engine is None and not label_kinds:
                continue
            day = get(i)
            if len(day) == 0:
                continue
            if engine is not None:
                dt = day.stored.ticks["datetime_ns"]
                values = engine.update_many(
                    day.stored.ticks, day.stored.trading_day, day.segment, self._extras(extras, d, dt) or None
                )
                if d in targets[FEATURES]:
                    cols = {name: values[:, j] for j, name in enumerate(engine.names)}
                    self._write(plans[FEATURES], symbol, lake, day, cols, writes)
            if label_kinds:
                ahead = max(lookahead[k] for k in label_kinds)
                parts = [day]
                have = 0
                k = i + 1
                while have < ahead and k < len(days):
                    nxt = get(k)
                    parts.append(nxt)
                    have += len(nxt)
                    k += 1
                ticks = np.concatenate([p.stored.ticks for p in parts])
                trading_day = np.concatenate([p.stored.trading_day for p in parts])
                segment = np.concatenate([p.segment for p in parts])
                n = len(day)
                for kind in label_kinds:
                    labels = compute_labels(ticks, trading_day, segment, price_tick, label_config, _LABEL_PART[kind])
                    self._write(plans[kind], symbol, lake, day, {name: col[:n] for name, col in labels.items()}, writes)
        writes.drain()  # the build metadata records only days whose rows are stored
        for kind in targets:
            self._put_build(plans[kind], now_ns)

    def _extras(self, extras: Mapping[str, str], day: date, dt: np.ndarray) -> dict[str, np.ndarray]:
        """As-of mids of the other varieties on ``day`` aligned to ``dt`` (NaN before their first
        tick of the day)."""
        out: dict[str, np.ndarray] = {}
        for name, other in extras.items():
            o = self._ticks.read_tick_columns(other, MAIN_L5, day, day, ("bid_price1", "ask_price1"))
            if o["datetime_ns"].shape[0] == 0:
                continue
            bid, ask = o["bid_price1"], o["ask_price1"]
            mid = np.where((bid > 0) & (ask > 0), (bid + ask) / 2.0, np.nan)
            j = np.searchsorted(o["datetime_ns"], dt, side="right") - 1
            out[name] = np.where(j >= 0, mid[np.clip(j, 0, None)], np.nan)
        return out

    def _write(
        self, plan: _KindPlan, symbol: str, lake: str, day: _Day, columns: dict[str, np.ndarray], writes: WriteQueue
    ) -> None:
        """Queue one day's rows of one kind; the plan notes the day once the write is stored."""
        stored = day.stored
        main = lake == MAIN_L5
        rows = DatasetRows(
            symbol=symbol,
            ticks_lake=lake,
            trading_day=stored.trading_day,
            datetime_ns=stored.ticks["datetime_ns"],
            columns={c: np.ascontiguousarray(columns[c]) for c in plan.columns},
            underlying_contract=stored.underlying_contract if main else None,
            segment_id=day.segment if main else None,
        )

        def done(written: int) -> None:
            plan.rows += written
            plan.written.append(day.day)
            plan.recorded[day.day.isoformat()] = plan.fingerprints[day.day]

        writes.submit(lambda: self._datasets.write_rows(plan.kind, plan.build_id, rows), done)


def _note(first_change: dict[int, dict[str, date]], seg: int, kind: str, day: date) -> None:
    current = first_change.setdefault(seg, {})
    if kind not in current or day < current[kind]:
        current[kind] = day
