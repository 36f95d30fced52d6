#!/usr/bin/env bash
# Fuzz the readers with afl-fuzz and SharpFuzz (issue 25).
#   fuzz/run.sh SECONDS [TARGET…]     default: every target, SECONDS each
# Needs afl++ (Debian: apt-get install afl++) and the SharpFuzz instrumenter
# (dotnet tool install -g SharpFuzz.CommandLine --version 2.3.0); installs neither.
# (or SHARPFUZZ=/path/to/sharpfuzz). Writes fuzz/out/TARGET/ (AFL's queue, crashes, hangs, fuzzer_stats); exits 1
# when any target found a crash or hang, printing each such input's exception (replayed without AFL); copy those
# inputs to fuzz/corpus/TARGET/finding-* and they become regression tests (tests/…/FuzzRegressionTests.cs).
# Ends with "fuzz checks: N passed, N failed" (a target passes when AFL ran it and it found nothing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:?usage: fuzz/run.sh SECONDS [TARGET…]}"; shift
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(npy npz cifar idx-images idx-labels csv epn epn-sealed uci dynamics-resume)
command -v afl-fuzz >/dev/null || { echo "fuzz/run.sh: afl-fuzz not found (apt-get install afl++)" >&2; exit 2; }
sharpfuzz="${SHARPFUZZ:-$(command -v sharpfuzz || echo "$HOME/.dotnet/tools/sharpfuzz")}"
[ -x "$sharpfuzz" ] || { echo "fuzz/run.sh: sharpfuzz not found (dotnet tool install -g SharpFuzz.CommandLine --version 2.3.0)" >&2; exit 2; }

build="$here/out/build"; rm -rf "$build"
dotnet publish "$here/EigenProNet.Fuzz/EigenProNet.Fuzz.csproj" -c Release -o "$build" --nologo -v q >/dev/null
# The seeds and a plain copy (for replaying findings: instrumented code runs only under AFL), then instrument the
# library the targets exercise.
corpus="$here/out/corpus"; rm -rf "$corpus"
# Real UCI folders seed the uci target when ../shared is beside the repository (small ones: AFL wants small seeds).
uci=(); for d in balloons iris; do [ -d "$here/../../shared/data/uci/$d" ] && uci+=("$here/../../shared/data/uci/$d"); done
dotnet "$build/EigenProNet.Fuzz.dll" make-corpus "$corpus" "${uci[@]}" >/dev/null
plain="$here/out/plain"; rm -rf "$plain"; cp -r "$build" "$plain"
"$sharpfuzz" "$build/EigenProNet.dll" >/dev/null
for t in "${targets[@]}"; do cp -r "$here/corpus/$t/." "$corpus/$t/" 2>/dev/null || true; done

export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
found=0; passed=0; failed=0
for t in "${targets[@]}"; do
  out="$here/out/$t"; rm -rf "$out"
  # -m none: .NET reserves far more address space than it uses; -t: a hang is an input over 5 s.
  afl-fuzz -i "$corpus/$t" -o "$out" -m none -t 5000 -V "$seconds" -- dotnet "$build/EigenProNet.Fuzz.dll" "$t" >"$out.log" 2>&1 || true
  stats="$out/default/fuzzer_stats"
  [ -f "$stats" ] || { echo "$t: afl-fuzz did not start (see $out.log)" >&2; tail -20 "$out.log" >&2; found=1; failed=$((failed + 1)); continue; }
  execs=$(awk -F: '/^execs_done/ {gsub(/ /, "", $2); print $2}' "$stats")
  paths=$(awk -F: '/^corpus_count/ {gsub(/ /, "", $2); print $2}' "$stats")
  crashes=$(find "$out/default/crashes" -type f -name 'id:*' | wc -l)
  hangs=$(find "$out/default/hangs" -type f -name 'id:*' | wc -l)
  echo "$t: $execs executions, $paths paths in the queue, $crashes crashes, $hangs hangs (${seconds} s)"
  if [ "$crashes" -eq 0 ] && [ "$hangs" -eq 0 ]; then passed=$((passed + 1)); fi
  if [ "$crashes" -gt 0 ] || [ "$hangs" -gt 0 ]; then
    found=1; failed=$((failed + 1))
    dotnet "$plain/EigenProNet.Fuzz.dll" replay "$t" $(find "$out/default/crashes" "$out/default/hangs" -type f -name 'id:*') || true
  fi
done
echo "fuzz checks: $passed passed, $failed failed"
exit $found
