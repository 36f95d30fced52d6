#!/usr/bin/env bash
# Line and branch coverage of each fuzz target's reader by the inputs AFL kept (issue 25).
#   fuzz/coverage.sh [TARGET…]       default: every target that fuzz/run.sh left a queue for in fuzz/out/
# Replays fuzz/out/TARGET/default/queue through the target under coverlet (fuzz/EigenProNet.Fuzz.Coverage) and prints,
# per target, the lines and branches of its reader's source files that the queue runs — counting the reading code only
# (methods whose names say they write or save are left out: no input reaches them). Ends "coverage: N targets".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
declare -A sources=(
  [npy]="Data/Npy.cs" [npz]="Data/Npy.cs" [cifar]="Data/CifarBinary.cs" [idx-images]="Data/IdxFile.cs" [idx-labels]="Data/IdxFile.cs"
  [csv]="Data/CsvTable.cs" [epn]="Models/ModelFile.cs" [epn-sealed]="Models/ModelFile.cs" [uci]="Data/UciDataset.cs" [dynamics-resume]="Dynamics/DynamicsRun.cs Networks/ReluNetwork.cs"
)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in npy npz cifar idx-images idx-labels csv epn epn-sealed uci dynamics-resume; do [ -d "$here/out/$t/default/queue" ] && targets+=("$t"); done
fi
[ ${#targets[@]} -gt 0 ] || { echo "fuzz/coverage.sh: no queue in fuzz/out/ (run fuzz/run.sh first)" >&2; exit 2; }
dotnet build "$here/EigenProNet.Fuzz.Coverage" -c Release --nologo -v q >/dev/null
for t in "${targets[@]}"; do
  results="$here/out/coverage/$t"; rm -rf "$results"; mkdir -p "$here/out/coverage"
  EIGENPRO_FUZZ_TARGET="$t" EIGENPRO_FUZZ_QUEUE="$here/out/$t/default/queue" dotnet test "$here/EigenProNet.Fuzz.Coverage" -c Release --no-build \
    --collect "XPlat Code Coverage" --results-directory "$results" --nologo -v q >"$results.log" 2>&1 || { echo "$t: replay failed (see $results.log)" >&2; tail -5 "$results.log" >&2; exit 1; }
  queued=$(find "$here/out/$t/default/queue" -maxdepth 1 -name 'id:*' | wc -l)
  python3 - "$t" "$queued" "$(find "$results" -name coverage.cobertura.xml | head -1)" ${sources[$t]} <<'PY'
import re, sys, xml.etree.ElementTree as ET
target, queued, report, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
lines, branches = {}, [0, 0]
for cls in ET.parse(report).getroot().iter("class"):
    name = cls.get("filename").replace("\\", "/")
    if not any(name.endswith("src/EigenProNet/" + f) for f in files):
        continue
    for method in cls.iter("method"):
        if re.search(r"Write|Save", method.get("name")):
            continue
        for line in method.iter("line"):
            key = (name, line.get("number"))
            lines[key] = lines.get(key, 0) or int(line.get("hits"))
            m = re.search(r"\((\d+)/(\d+)\)", line.get("condition-coverage") or "")
            if m:
                branches[0] += int(m.group(1)); branches[1] += int(m.group(2))
hit = sum(1 for h in lines.values() if h > 0)
print(f"{target}: {queued} queued inputs run {hit}/{len(lines)} reading lines ({100 * hit / max(1, len(lines)):.0f} %) and "
      f"{branches[0]}/{branches[1]} branches ({100 * branches[0] / max(1, branches[1]):.0f} %) of {', '.join(files)}")
PY
done
echo "coverage: ${#targets[@]} targets"
