#!/usr/bin/env bash
# N fresh processes of `tav bench pipeline ARGS`, and min / median / max of each stage's ms per step over them: a
# process that the JIT left in a slow mode shows up as a max far above the median (docs/performance.md). With
# several --jar, the jars run alternately (A B A B …), so that drift of a shared machine hits all of them alike.
# Each process also logs its young collections (-Xlog:gc), the other sign of boxed vectors. Records the CPU model,
# its vector flags, the JDK and the load average with the figures.
#   scripts/bench-processes.sh [-n N] [--jar NAME=PATH]… [--out DIR] [bench pipeline options…]
#   scripts/bench-processes.sh -n 10 --model anchor --frames 8 --latent 32 --steps 2
#   scripts/bench-processes.sh -n 10 --jar before=/tmp/old/tav.jar --jar after=cli/target/tav.jar --model anchor …
# Without --jar it runs this checkout's cli/target/tav.jar (./tav builds it). Results: DIR (default
# target/bench-processes/<time>) holds each run's JSON and GC log, summary.txt and summary.json.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n=10
jars=()
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) n="$2"; shift 2 ;;
    --jar) jars+=("$2"); shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) break ;;
  esac
done
. "$root/scripts/jdk.sh"
if [ ${#jars[@]} -eq 0 ]; then
  [ -f "$root/cli/target/tav.jar" ] || "$root/tav" --help > /dev/null  # builds the jar on first use
  jars=("this=$root/cli/target/tav.jar")
fi
out="${out:-$root/target/bench-processes/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n1)"
[ -n "$cpu" ] || cpu="$(uname -m)"
flags="$(grep -m1 -o -w -E 'avx512f|avx2|fma|asimd|sve' /proc/cpuinfo 2>/dev/null | sort -u | tr '\n' ' ')"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu: $cpu ($(nproc) cpus seen; $flags)"
  echo "jdk: $("$JAVA_HOME/bin/java" -version 2>&1 | head -n1)"
  echo "command: bench pipeline $*"
  for j in "${jars[@]}"; do echo "jar ${j%%=*}: ${j#*=}"; done
} > "$out/machine.txt"
cat "$out/machine.txt" >&2
for i in $(seq 1 "$n"); do
  for j in "${jars[@]}"; do
    name="${j%%=*}"; jar="${j#*=}"
    load="$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')"
    echo "bench-processes: run $i/$n, $name (load $load)" >&2
    start=$(date +%s)
    # shellcheck disable=SC2046
    if ! "$JAVA_HOME/bin/java" $(cat "$root/scripts/jvm-flags") ${TAV_JAVA_OPTS:-} -Xlog:gc:file="$out/$name-$i.gc.log" \
        -jar "$jar" bench pipeline "$@" --json "$out/$name-$i.json" > "$out/$name-$i.log" 2>&1; then
      tail -n 20 "$out/$name-$i.log" >&2
      exit 1
    fi
    echo "$name $i $load $(( $(date +%s) - start ))" >> "$out/runs.txt"
  done
done
python3 - "$out" "$n" "${jars[@]}" <<'EOF'
import json, os, re, statistics, sys
out, n, jars = sys.argv[1], int(sys.argv[2]), [j.split("=", 1)[0] for j in sys.argv[3:]]
machine = open(os.path.join(out, "machine.txt")).read()
summary, lines = {"machine": machine.strip().splitlines(), "variants": {}}, [machine.rstrip(), ""]
lines.append(f"{n} fresh processes per jar, alternating; ms per step: min / median / max, max/median; young GCs per process: median / max")
lines.append(f"{'jar':<10} {'stage':<8} {'min':>9} {'median':>9} {'max':>9} {'max/med':>8}   {'GCs med':>7} {'GCs max':>7}")
for name in jars:
    stages, gcs = {}, []
    for i in range(1, n + 1):
        data = json.load(open(os.path.join(out, f"{name}-{i}.json")))
        for run in data["runs"]:
            for stage, s in run["tav4j"]["stages"].items():
                if s.get("ms_per_step") is not None: stages.setdefault(stage, []).append(s["ms_per_step"])
        log = open(os.path.join(out, f"{name}-{i}.gc.log")).read()
        gcs.append(len(re.findall(r"Pause Young", log)))
    summary["variants"][name] = {"young_gcs": gcs, "stages": {}}
    for stage in ("tune", "invert", "edit"):
        if stage not in stages: continue
        v = stages[stage]; med = statistics.median(v)
        summary["variants"][name]["stages"][stage] = {"ms_per_step": v, "min": min(v), "median": med, "max": max(v)}
        lines.append(f"{name:<10} {stage:<8} {min(v):>9.1f} {med:>9.1f} {max(v):>9.1f} {max(v) / med:>8.2f}   {statistics.median(gcs):>7.0f} {max(gcs):>7d}")
text = "\n".join(lines)
print(text)
open(os.path.join(out, "summary.txt"), "w").write(text + "\n")
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)
EOF
echo "bench-processes: results in $out" >&2
