#!/usr/bin/env bash
# Micro-sim vs hftbacktest 2.4.4 on the same snapshot file, in one go: a markdown table of
# snapshots/s per mode and the ratio (micro-sim / hftbacktest). Same strategy (1 lot re-quoted at
# the best bid / ask, max position 5), feed latency 5 ms, constant entry / cancel latency 5 ms.
# Usage (repo root): bench/bench_microsim_vs_hftbacktest.sh [snapshot file] [repeat]
# Creates bench/.venv-hft (hftbacktest_env.sh) and the file (make_snapshots.py) when missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
file="${1:-$root/data/bench/cu_l5_1m.npz}"
repeat="${2:-3}"
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}"
py="$root/.venv/bin/python"
hft_py="$("$root/bench/hftbacktest_env.sh" | tail -1)"
[ -f "$file" ] || "$py" "$root/bench/make_snapshots.py" --out "$file"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$py" "$root/bench/bench_microsim.py" --file "$file" --entry-ms 5 --repeat "$repeat" --json > "$out/microsim.jsonl"
# run from a neutral folder: the hft venv must not import the project's sources
(cd "$out" && PYTHONPATH= "$hft_py" -W ignore "$root/bench/bench_hftbacktest.py" --file "$file" --entry-ms 5 \
  --repeat "$repeat" --json > "$out/hft.jsonl")
echo "command: bench/bench_microsim_vs_hftbacktest.sh $file $repeat   ($(nproc) CPUs, $(date -u +%FT%TZ))"
"$py" - "$out/microsim.jsonl" "$out/hft.jsonl" <<'PY'
import json, sys
ms = {(r["run"], r["model"]): r for r in map(json.loads, open(sys.argv[1]))}
hf = {(r["run"], r["model"]): r for r in map(json.loads, open(sys.argv[2]))}
ev = next(iter(hf.values()))["events"]
n = next(iter(hf.values()))["snapshots"]
print(f"\n{n:,} snapshots; hftbacktest replays them as {ev:,} events ({ev / n:.2f} per snapshot)\n")
print("| run | queue model | micro-sim snapshots/s | hftbacktest snapshots/s | hftbacktest events/s "
      "| ratio (micro-sim / hftbacktest) | orders (ms / hft) | fills (ms / hft) |")
print("|---|---|---|---|---|---|---|---|")
for key, m in ms.items():
    h = hf[key]
    print(f"| {key[0]} | {key[1]} | {n / m['wall_s']:,.0f} | {n / h['wall_s']:,.0f} | {ev / h['wall_s']:,.0f} "
          f"| {h['wall_s'] / m['wall_s']:.2f}x | {m['orders']} / {h['orders']} | {m['fills']} / {h['fills']} |")
PY
