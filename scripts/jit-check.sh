#!/usr/bin/env bash
# Runs the kernel allocation probe (every CPU kernel, full tiles first, then edges) in a JVM that logs its
# compilations, then checks that C2 inlined every Vector API call of every kernel within its budget
# (scripts/jit-check.py; docs/performance.md, "The slow mode"). Needs the kernels built with their tests:
#   mvn -pl kernels test-compile    (then)    scripts/jit-check.sh [-v] [JVM options…]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/jdk.sh"
verbose=""
if [ "${1:-}" = "-v" ]; then verbose="-v"; shift; fi
cp="$root/kernels/target/test-classes:$root/kernels/target/classes:$root/runtime/target/classes"
log="$(mktemp --suffix=.xml)"
trap 'rm -f "$log"' EXIT
"$JAVA_HOME/bin/java" -Xbatch -XX:CompileThresholdScaling=0.1 "$@" --add-modules jdk.incubator.vector \
  --enable-native-access=ALL-UNNAMED -XX:+UnlockDiagnosticVMOptions -XX:+LogCompilation -XX:LogFile="$log" \
  -cp "$cp" dev.tav4j.kernels.cpu.KernelAllocationProbe 40 20 2>&1 | grep -v '^WARNING' | tail -n 3 || true
python3 "$root/scripts/jit-check.py" "$log" $verbose
