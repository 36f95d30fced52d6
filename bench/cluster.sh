#!/usr/bin/env bash
# Center-sharded EigenPro 3/4 on 1, 2 and 4 silos on this machine (issue 23; docs/distributed.md): per silo count,
# the epoch time, the bytes per batch, how long the coordinator waited, how much of that the slowest shard computed
# and the rest (communication), beside the same run with the shards in one process and the FMA peak of this session.
#   bench/cluster.sh [SILOS…]                 default: 1 2 4
# Environment: DATA (default ../shared/data/cifar-10-batches-bin), TRAIN_ROWS (20000), CENTERS (4000), SOLVER
# (eigenpro3), PROJECTION (exact), EPOCHS (2; the last epoch is reported), EIGENPRO (default: the Release build).
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
     --projection "${PROJECTION:-exact}" --epochs "${EPOCHS:-2}" --seed 3)

peak=$("$eigenpro" bench peak --json | python3 -c "import json, sys; print(json.load(sys.stdin)['gflops'])")
echo "$(lscpu | sed -nE 's/^Model name: *//p' | head -n 1), $cores cores; FMA peak $peak GFLOP/s (eigenpro bench peak, this session)"
echo "${run[*]}"
summary() {   # summary LABEL JSON
  python3 - "$1" "$2" "$peak" <<'PY'
import json, sys
label, path, peak = sys.argv[1], sys.argv[2], float(sys.argv[3])
d = json.load(open(path)); e = d['epochs'][-1]; s = d.get('shards') or {}
epochs = len(d['epochs']); batches = s.get('batches', 0) / max(epochs, 1)
wait = s.get('wait_seconds', 0) / max(epochs, 1); comp = s.get('slowest_shard_compute_seconds', 0) / max(epochs, 1)
comm = max(0.0, wait - comp)
print(f"| {label} | {e['seconds']:.2f} | {e['seconds'] * peak:.0f} | {s.get('bytes_per_batch', 0) / 2**20:.1f} | {batches:.0f} | {wait:.2f} | {comp:.2f} | {comm:.2f} | {100 * comm / e['seconds']:.0f} % | {100 * e['test_accuracy']:.2f} % |")
PY
}
echo
echo "| run | epoch s | s × GFLOP/s | MiB per batch | batches | waited s | slowest shard computing s | communication s | communication share | test accuracy |"
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
