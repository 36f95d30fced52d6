#!/usr/bin/env bash
# Peak RSS of full-size runs against --memory-budget (issue 25).
#   bench/memory-budget.sh [BUDGET…]        default budgets: 1GiB 2GiB 4GiB
# Runs each workload on Fashion-MNIST (60 000 × 784; Debian: apt-get install dataset-fashion-mnist) under each budget,
# one process per run, and prints a Markdown table: the run's peak resident set (GNU time's maximum RSS), the peak of a
# process that only loads the same data (`eigenpro data info`), the difference, and whether it is within the budget —
# or the refusal the run printed before it started. Needs /usr/bin/time (Debian: apt-get install time).
# EIGENPRO=path/to/eigenpro overrides the CLI (default: the Release build); WORKLOADS="eigenpro2 rfm" picks some.
set -uo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
eigenpro="${EIGENPRO:-$here/src/EigenProNet.Cli/bin/Release/net10.0/eigenpro}"
[ -x "$eigenpro" ] || { echo "bench/memory-budget.sh: $eigenpro not found (dotnet build -c Release)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench/memory-budget.sh: /usr/bin/time not found (apt-get install time)" >&2; exit 2; }
budgets=("$@"); [ ${#budgets[@]} -gt 0 ] || budgets=(1GiB 2GiB 4GiB)
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
data=(--data fashion-mnist)

# name | command (after eigenpro) — full training set, one epoch or two iterations each.
declare -A workloads=(
  [eigenpro2]="train ${data[*]} --solver eigenpro2 --epochs 1"
  [eigenpro3]="train ${data[*]} --solver eigenpro3 --centers 20000 --epochs 1"
  [eigenpro4]="train ${data[*]} --solver eigenpro4 --centers 20000 --epochs 1"
  [rfm]="rfm ${data[*]} --iterations 2 --epochs 1 --agop-samples 5000"
  [rfm-direct]="rfm ${data[*]} --iterations 2 --solver direct"
  [dynamics-ntk]="dynamics ntk ${data[*]} --epochs 1 --out $out/ntk --force"
  [dynamics-rfm]="dynamics rfm ${data[*]} --train-rows 60000 --test-rows 10000 --iterations 1 --epochs 1 --out $out/rfm --force"
  [dynamics-network]="dynamics network ${data[*]} --epochs 1 --out $out/network --force"
)
order=(${WORKLOADS:-eigenpro2 eigenpro3 eigenpro4 rfm rfm-direct dynamics-ntk dynamics-rfm dynamics-network})

rss() { awk '/Maximum resident set size/ {printf "%.0f\n", $NF * 1024}' "$1"; }   # bytes (no exponent: bash compares them)
mib() { awk -v b="$1" 'BEGIN {printf "%.0f MiB", b / 1048576}'; }
bytes() { awk -v s="$1" 'BEGIN { n = s + 0; u = s; gsub(/[0-9.]/, "", u); f = (u == "GiB") ? 2^30 : (u == "MiB") ? 2^20 : 1; printf "%.0f", n * f }'; }

/usr/bin/time -v "$eigenpro" data info "${data[@]}" >/dev/null 2>"$out/base.time" || { echo "loading the data failed:" >&2; tail "$out/base.time" >&2; exit 1; }
base=$(rss "$out/base.time")
peak=$("$eigenpro" bench peak --json 2>/dev/null | awk -F'"peak_gflops":' 'NF > 1 {split($2, a, /[,}]/); printf "%.1f", a[1]}')
echo "Fashion-MNIST, $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); fp32 peak ${peak:-?} GFLOP/s"
echo "Loading the data alone: peak RSS $(mib "$base")."
echo
echo "| Workload | Budget | Outcome | Seconds | Peak RSS | Beyond loading the data | Within the budget |"
echo "|---|---|---|---:|---:|---:|---|"
failures=0
for w in "${order[@]}"; do
  for b in "${budgets[@]}"; do
    # shellcheck disable=SC2086
    /usr/bin/time -v "$eigenpro" ${workloads[$w]} --memory-budget "$b" >"$out/run.out" 2>"$out/run.err"
    code=$?
    r=$(rss "$out/run.err"); secs=$(awk '/Elapsed \(wall clock\)/ {n = split($NF, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$out/run.err")
    beyond=$((r - base)); limit=$(bytes "$b")
    if [ "$code" -eq 0 ]; then
      outcome="ran"; ok=$([ "$beyond" -le "$limit" ] && echo yes || echo "**no**")
    else
      outcome="refused: $(grep -m1 '^error:' "$out/run.err" | cut -c8- | sed 's/|/\\|/g')"
      [ -n "${outcome#refused: }" ] || outcome="failed (exit $code): $(grep -v '^\s' "$out/run.err" | tail -1)"
      ok=$([ "$beyond" -le "$limit" ] && echo yes || echo "**no**")
    fi
    [ "$ok" = yes ] || failures=$((failures + 1))
    echo "| $w | $b | $outcome | $secs | $(mib "$r") | $(mib "$beyond") | $ok |"
  done
done
echo
echo "memory budget checks: $(( ${#order[@]} * ${#budgets[@]} - failures )) within, $failures beyond"
[ "$failures" -eq 0 ]
