#!/usr/bin/env bash
# Side by side: `tav bench pipeline ARGS` of this checkout (A) against another commit (B), built beside it in
# target/bench-ab/<commit>, run alternately A B A B … so drift of the machine hits both; prints per stage the
# median ms per step and the largest peak host memory of each, and B/A.
#   scripts/bench-ab.sh [-n PAIRS] REV [bench pipeline options…]
#   scripts/bench-ab.sh -n 3 HEAD~1 --model anchor --frames 8 --latent 32 --steps 2
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pairs=3
if [ "${1:-}" = "-n" ]; then pairs="$2"; shift 2; fi
rev="${1:?usage: scripts/bench-ab.sh [-n PAIRS] REV [bench pipeline options]}"; shift
. "$root/scripts/jdk.sh"
commit="$(git -C "$root" rev-parse --short "$rev")"
other="$root/target/bench-ab/$commit"
if [ ! -f "$other/cli/target/tav.jar" ]; then
  echo "bench-ab: building $commit in $other …" >&2
  rm -rf "$other"; mkdir -p "$(dirname "$other")"
  git -C "$root" worktree add -f --detach "$other" "$commit" >/dev/null
  (cd "$other" && mvn -B -ntp -q -DskipTests package) > "$other.build.log" 2>&1 || { tail -20 "$other.build.log" >&2; exit 1; }
fi
out="$root/target/bench-ab/results-$commit-$(date +%s)"
mkdir -p "$out"
for i in $(seq 1 "$pairs"); do
  for side in A B; do
    dir="$root"; [ $side = B ] && dir="$other"
    echo "bench-ab: pair $i, $side ($( [ $side = A ] && git -C "$root" rev-parse --short HEAD || echo "$commit"))" >&2
    "$dir/tav" bench pipeline "$@" --json "$out/$side-$i.json" > "$out/$side-$i.log" 2>&1 || { tail -20 "$out/$side-$i.log" >&2; exit 1; }
  done
done
python3 - "$out" "$pairs" "$(git -C "$root" rev-parse --short HEAD)" "$commit" <<'EOF'
import json, statistics, sys, glob, os
out, pairs, a_name, b_name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def load(side):
    runs = [json.load(open(os.path.join(out, f"{side}-{i}.json"))) for i in range(1, pairs + 1)]
    figs = {}
    for r in runs:
        for run in r["runs"]:
            for stage, s in run["tav4j"]["stages"].items():
                key = (run["frames"], stage)
                figs.setdefault(key, ([], []))
                figs[key][0].append(s["ms_per_step"])
                figs[key][1].append(s["peak_host_bytes"] or 0)
    return figs
A, B = load("A"), load("B")
print(f"A = {a_name} (this checkout), B = {b_name}; {pairs} runs each, alternating; medians of ms per step, largest peak host MiB")
print(f"{'frames':>6} {'stage':<8} {'A ms':>9} {'B ms':>9} {'A/B':>6} {'A MiB':>7} {'B MiB':>7}")
for key in sorted(A):
    (fr, st) = key
    am, bm = statistics.median(A[key][0]), statistics.median(B[key][0])
    ap, bp = max(A[key][1]) / 2**20, max(B[key][1]) / 2**20
    print(f"{fr:>6} {st:<8} {am:>9.1f} {bm:>9.1f} {am / bm:>6.3f} {ap:>7.0f} {bp:>7.0f}")
EOF
