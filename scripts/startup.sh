#!/usr/bin/env bash
# Start-up of the tav command, without and with the launcher's JVM AOT cache, side by side (docs/performance.md,
# "Start-up"): scripts/startup.sh [RUNS] (default 5 of each, interleaved: no cache, cache, no cache, ...).
#   tav info: wall and CPU time (launcher and JVM) of the whole command.
#   tav generate on the golden tiny checkpoint ($TAV_GOLDEN/models/tiny-sd-a; skipped without it), 2 frames of
#   64x64, 2 steps: the time from the launcher's start to the end of the first denoising step, and the process's CPU
#   time then (TAV_TIMING=1's "timing:" line).
# Prints a Markdown table of medians (min-max) with the date, machine, JDK, load and commands. Builds the jar and
# makes the cache first if needed (./tav --version), and runs each command once unmeasured (repacked-weight cache).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/jdk.sh
runs="${1:-5}"
golden="${TAV_GOLDEN:-../shared/golden}"
model="$golden/models/tiny-sd-a"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
info=(./tav info)
gen=(./tav generate --model "$model" --prompt "a cat" --frames 2 --height 64 --width 64 --steps 2 --seed 1 --out "$out/g.gif")

./tav --version > /dev/null 2>&1
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
TIMEFORMAT='%R %U %S'
declare -A wall cpu
# one run of the named case: appends its wall and CPU seconds
measure() {
  local case=$1 aot=$2 t line
  shift 2
  if [ "$case" = info ]; then
    t=$( { time TAV_AOT=$aot "$@" > /dev/null 2>&1; } 2>&1 )
    read -r w u s <<< "$t"
    wall[$case$aot]+=" $w"
    cpu[$case$aot]+=" $(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')"
  else
    line=$(TAV_AOT=$aot TAV_TIMING=1 "$@" 2>&1 | grep '^timing: first' || true)
    [ -n "$line" ] || { echo "no timing line from: $*" >&2; exit 1; }
    wall[$case$aot]+=" $(sed -n 's/.* done \([0-9.]*\) s after.*/\1/p' <<< "$line")"
    cpu[$case$aot]+=" $(sed -n 's/.*; \([0-9.]*\) s of CPU.*/\1/p' <<< "$line")"
  fi
}
cases=(info)
[ -d "$model" ] && cases+=(gen) || echo "(no $model: generate skipped)" >&2
for c in "${cases[@]}"; do  # unmeasured: repacked weights, page cache
  if [ "$c" = info ]; then cmd=("${info[@]}"); else cmd=("${gen[@]}"); fi
  TAV_AOT=1 "${cmd[@]}" > /dev/null 2>&1
done
for ((i = 1; i <= runs; i++)); do
  for c in "${cases[@]}"; do
    if [ "$c" = info ]; then cmd=("${info[@]}"); else cmd=("${gen[@]}"); fi
    measure "$c" 0 "${cmd[@]}"
    measure "$c" 1 "${cmd[@]}"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# "median (min-max)" of a list of numbers
stats() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { printf "%.2f (%.2f-%.2f)", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2), a[1], a[NR] }'; }
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
jdk=$("$JAVA_HOME/bin/java" -version 2>&1 | sed -n 2p)
aot_file=$(ls -t cli/target/aot/tav-*.aot 2>/dev/null | head -n1 || true)
echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $cpu_model, $(nproc) CPUs; JDK: $jdk"
echo "Load average (1, 5, 15 min): $load_before before, $load_after after; $runs runs of each, interleaved;" \
  "cache: ${aot_file:-none} ($( [ -n "$aot_file" ] && du -m "$aot_file" | cut -f1 || echo 0) MiB)"
echo
echo "| command | measure | no cache (TAV_AOT=0) | AOT cache | cache / none |"
echo "|---|---|---:|---:|---:|"
for c in "${cases[@]}"; do
  if [ "$c" = info ]; then name='`tav info`'; what="whole command"; else name='`tav generate` tiny, 2×64×64'; what="to the end of the first step"; fi
  for m in wall cpu; do
    if [ $m = wall ]; then a=${wall[${c}0]} b=${wall[${c}1]}; label="$what, wall s"; else a=${cpu[${c}0]} b=${cpu[${c}1]}; label="$what, CPU s"; fi
    ma=$(stats <<< "$a") mb=$(stats <<< "$b")
    echo "| $name | $label | $ma | $mb | $(awk -v x="${ma%% *}" -v y="${mb%% *}" 'BEGIN { printf "%.2f", y / x }') |"
  done
done
echo
echo "Commands: \`${info[*]}\`; \`./tav generate --model $model --prompt \"a cat\" --frames 2 --height 64 --width 64 --steps 2 --seed 1 --out OUT.gif\`"
