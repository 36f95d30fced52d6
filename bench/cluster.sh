#!/usr/bin/env bash
# Center-sharded EigenPro 3/4 on 1, 2 and 4 silos on this machine (issue 23; docs/distributed.md): per silo count,
# the epoch time, the bytes per batch, the exchanges' round trips, how much of them the slowest shard computed and the
# rest (communication) — each per epoch, averaged over the run's epochs — beside the same run with the shards in one
# process and the FMA peak of this session.
#   bench/cluster.sh [SILOS…]                 default: 1 2 4
# Environment: DATA (default ../shared/data/cifar-10-batches-bin), TRAIN_ROWS (20000), CENTERS (4000), SOLVER
# (eigenpro3), PROJECTION (exact), EPOCHS (3), EIGENPRO (default: the Release build).
# The silos share this machine's cores: each gets cores / silos threads (at least 1); the coordinator all of them.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
eigenpro="${EIGENPRO:-$here/src/EigenProNet.Cli/bin/Release/net10.0/eigenpro}"
[ -x "$eigenpro" ] || { echo "bench/cluster.sh: $eigenpro not found (dotnet build -c Release)" >&2; exit 2; }
silos=("$@"); [ ${#silos[@]} -gt 0 ] || silos=(1 2 4)
data=${DATA:-$here/../shared/data/cifar-10-batches-bin}
cores=$(nproc)
work=$(mktemp -d); pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
run=(train --data "$data" --train-rows "${TRAIN_ROWS:-20000}" --test-rows 1000 --solver "${SOLVER:-eigenpro3}" --centers "${CENTERS:-4000}"
     --projection "${PROJECTION:-exact}" --epochs "${EPOCHS:-3}" --seed 3)

peak=$("$eigenpro" bench peak --json | python3 -c "import json, sys; print(json.load(sys.stdin)['gflops'])")
echo "$(lscpu | sed -nE 's/^Model name: *//p' | head -n 1), $cores cores; FMA peak $peak GFLOP/s (eigenpro bench peak, this session)"
echo "${run[*]}"
summary() {   # summary LABEL JSON
  python3 - "$1" "$2" "$peak" <<'PY'
import json, sys
label, path, peak = sys.argv[1], sys.argv[2], float(sys.argv[3])
d = json.load(open(path)); s = d.get('shards') or {}
# Per epoch, averaged over the run's epochs (the shards' counters are the run's).
epochs = len(d['epochs']); seconds = sum(e['seconds'] for e in d['epochs']) / epochs; batches = s.get('batches', 0) / epochs
trip = s.get('round_trip_seconds', 0) / max(epochs, 1); comp = s.get('slowest_shard_compute_seconds', 0) / max(epochs, 1)
comm = max(0.0, trip - comp)
# Shards in one process answer in turn: their round trips are the sum of their computing, not communication.
local = s and s.get('cluster') is None
communication = "n/a | n/a" if local or not s else f"{comm:.2f} | {100 * comm / seconds:.0f} %"
print(f"| {label} | {seconds:.2f} | {seconds * peak:.0f} | {s.get('bytes_per_batch', 0) / 2**20:.1f} | {batches:.0f} | {trip:.2f} | {comp:.2f} | {communication} | {100 * d['epochs'][-1]['test_accuracy']:.2f} % |")
PY
}
echo
echo "| run | epoch s | s × GFLOP/s | MiB per batch | batches | round trips s | slowest shard computing s | communication s | communication share | test accuracy |"
echo "|---|---|---|---|---|---|---|---|---|---|"
"$eigenpro" "${run[@]}" --out "$work/single.json" >/dev/null 2>"$work/single.err" || { tail -n 3 "$work/single.err"; exit 1; }
summary "one process, no shards" "$work/single.json"
for n in "${silos[@]}"; do
  threads=$(( cores / n )); [ "$threads" -ge 1 ] || threads=1
  base=$(( 30000 + RANDOM % 20000 ))
  for i in $(seq 0 $(( n - 1 ))); do
    seed=(); [ "$i" -gt 0 ] && seed=(--seed-node "127.0.0.1:$base")
    "$eigenpro" cluster silo --port $(( base + 10 * i )) "${seed[@]}" --threads "$threads" >"$work/silo$i.out" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 120); do grep -q ready "$work/silo$i.out" && break; sleep 0.5; done
  done
  for _ in $(seq 1 60); do [ "$("$eigenpro" cluster status --cluster "127.0.0.1:$base" | wc -l)" -eq "$n" ] && break; sleep 0.5; done
  "$eigenpro" "${run[@]}" --cluster "127.0.0.1:$base" --out "$work/cluster$n.json" >/dev/null 2>"$work/cluster$n.err" || { tail -n 3 "$work/cluster$n.err"; exit 1; }
  summary "$n silo(s), $threads thread(s) each" "$work/cluster$n.json"
  "$eigenpro" "${run[@]}" --shards "$n" --out "$work/local$n.json" >/dev/null 2>"$work/local$n.err" || { tail -n 3 "$work/local$n.err"; exit 1; }
  summary "$n shard(s) in one process" "$work/local$n.json"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; wait 2>/dev/null; pids=()
done
