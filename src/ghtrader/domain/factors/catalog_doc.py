"""Render the factor catalog as markdown (the text of docs/factors.md)."""

from __future__ import annotations

from ghtrader.domain.factors import _kernels as K
from ghtrader.domain.factors.registry import CORE_L5_FACTORS, registry
from ghtrader.domain.factors.series import EXTRA_INPUTS, SERIES
from ghtrader.domain.factors.spec import GROUPS

__all__ = ["factors_markdown"]

_HEADER = f"""# Factor catalog

Generated from the registry (`ghtrader.domain.factors`); regenerate with

    .venv/bin/python -c "from ghtrader.domain.factors.catalog_doc import factors_markdown as f; open('docs/factors.md', 'w').write(f())"

(`tests/unit/domain/factors/test_registry.py` fails when this file is stale).

## Use

```python
from ghtrader.domain.factors import CORE_L5_FACTORS, OnlineFactorEngine, compute_factor_matrix

# batch: (n_ticks, n_factors) float64 and the column names; names=None computes every factor
mat, names = compute_factor_matrix(ticks, trading_day, segment_id, names=CORE_L5_FACTORS,
                                   extras={{"au_mid": au_mid, "ag_mid": ag_mid}}, price_tick=10.0)

# online: one update per tick, same values as the batch engine (bit for bit)
eng = OnlineFactorEngine(CORE_L5_FACTORS, price_tick=10.0)
eng.update_many(history, history_days, history_segments)  # optional warm-up on history
values = eng.update(tick, trading_day, segment_id, {{"au_mid": 480.1}})
```

Benchmark: `.venv/bin/python bench/factors_bench.py --ticks 1000000`.

## Conventions

- **Causal.** A value at tick t uses ticks <= t only. Ticks of ONE symbol, sorted by time.
- **Segments.** `segment_id` (int64 per tick) marks continuous stretches (e.g. one main contract of
  `main_l5`). Any change of segment id resets every factor's state: no window spans two segments,
  and the values from that tick on equal those of a fresh run started there.
- **Windows** are counted in ticks of the segment. A windowed factor is NaN until `lookback` ticks
  of the segment have been seen (never computed on a partial window). Inside a full window NaN
  observations are skipped; the value is NaN when fewer than `min_valid` (default: half the
  window) remain, or when a denominator is 0.
- **Recursive** factors (EWMAs, VPIN buckets, time-of-day profile, regime statistics, quote age,
  day means) keep state since the segment start; their `lookback` is the warm-up before the first
  value.
- **Cumulative volume and turnover** are differenced tick to tick within a trading day; the first
  tick of a trading day uses its own cumulative value (the feed's counter restarts at the day's
  open); the first tick of a segment has no difference (NaN); a negative difference is NaN.
- **Missing levels.** A book side is present when its price > 0 and its volume > 0; an absent side
  contributes 0 lots; `mid` needs both level-1 sides and `ask1 >= bid1`. NaN-only columns never
  raise: the factors that need them are NaN.
- **Units.** Returns are log returns in basis points; spreads and offsets in price ticks
  (`price_tick` engine argument); the contract multiplier is the `multiplier` argument or,
  when omitted, `amount / (volume * average)` of the latest tick where all three are > 0.
  A gap over {K.MAX_DT_S:g} s between ticks is a session break (`dt` NaN).
- **Cross-asset** factors read the extra inputs {", ".join(f"`{e}`" for e in EXTRA_INPUTS)} (as-of mids of the
  other varieties aligned to this symbol's ticks); absent extras make those factors NaN.
- **TTL** is how long a value stays usable with no newer tick: 5% of the lookback at two ticks a
  second, clamped to 3..300 s. **Hash** is the definition hash (spec + formula + kernel source).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _fmt_params(params: dict) -> str:
    keep = {k: v for k, v in params.items() if k in ("window", "window2", "mode", "min_valid", "ref")}
    return ", ".join(f"{k}={v}" for k, v in keep.items())


def factors_markdown() -> str:
    """The markdown catalog of every registered factor and base series."""
    specs = registry()
    lines = [
        _HEADER,
        f"{len(specs)} factors in {len(GROUPS)} groups. Core L5 set (`CORE_L5_FACTORS`): "
        + ", ".join(f"`{n}`" for n in CORE_L5_FACTORS)
        + ".",
        "",
    ]
    for group in GROUPS:
        members = [s for s in specs if s.group == group]
        lines += [f"## {group} ({len(members)})", ""]
        lines += [
            "| name | formula | unit | kind (params) | lookback | TTL s | hash |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in members:
            lb = f"{s.lookback}{' (recursive)' if s.recursive else ''}"
            lines.append(
                f"| `{s.name}` | {_cell(s.formula)} | {s.unit} | {s.kind} ({_fmt_params(s.params_dict)}) | {lb} | "
                f"{s.ttl_s:g} | `{s.definition_hash[:12]}` |"
            )
        lines.append("")
    lines += ["## Base series", "", "| series | group | lookback | definition |", "|---|---|---|---|"]
    for b in sorted(SERIES.values(), key=lambda b: b.index):
        lines.append(f"| `{b.name}` | {b.group} | {b.lookback} | {_cell(b.definition)} |")
    lines.append("")
    return "\n".join(lines)
