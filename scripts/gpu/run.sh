#!/usr/bin/env bash
# Runs every gpu-tagged test of every module on a machine with an NVIDIA GPU and nothing else: no Java, no
# Maven, no network. It uses what scripts/gpu/package.sh put in .gpu/ (a jlink-ed JDK, the jars, the compiled
# tests and the JUnit console launcher), prints the machine, the CUDA probe's report, each test, and at the end
# the figures the tests measured. Exit status: the console launcher's (0 = all passed).
#   scripts/gpu/run.sh [extra JUnit console options, e.g. --select-class=dev.tav4j.runtime.cuda.CublasGemmGpuTest]
# Environment: TAV_GPU_LOG (default .gpu/gpu-tests.log), TAV_GOLDEN (default .gpu/golden when packed),
#   TAV_GPU_REQUIRED (default true: a test fails rather than skips when CUDA is unusable).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -f "$here/jdk.tar.xz" ] || [ -x "$here/jdk/bin/java" ]; then G="$here"; else G="$(cd "$here/../.." && pwd)/.gpu"; fi
if [ ! -x "$G/jdk/bin/java" ] && [ -f "$G/jdk.tar.xz" ]; then tar -C "$G" -xJf "$G/jdk.tar.xz"; fi
JAVA="$G/jdk/bin/java"
[ -x "$JAVA" ] || { echo "no JDK image at $G/jdk: run scripts/gpu/package.sh first (and carry .gpu)" >&2; exit 2; }
LOG="${TAV_GPU_LOG:-$G/gpu-tests.log}"
CP="$(ls "$G"/lib/*.jar | tr '\n' ':')$(ls -d "$G"/test-classes/* | tr '\n' ':')"
FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx6g -Xss4m)
# the golden subset package.sh packed, unless the caller points elsewhere
if [ -z "${TAV_GOLDEN:-}" ] && [ -d "$G/golden" ]; then export TAV_GOLDEN="$G/golden"; fi

{
echo "== machine"
echo "arch: $(uname -m), kernel: $(uname -r), cpus: $(nproc)"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1
  nvidia-smi 2>&1 | sed -n '1,4p' | grep -i 'version' || true
else
  echo "nvidia-smi: not found"
fi
echo "libcuda (loader): $(ldconfig -p 2>/dev/null | grep -o '/[^ ]*libcuda\.so[^ ]*' | tr '\n' ' ')"
echo "libcublas (loader): $(ldconfig -p 2>/dev/null | grep -o '/[^ ]*libcublas\.so[^ ]*' | tr '\n' ' ')"
echo "libcublas (files): $(find /usr /opt -name 'libcublas.so*' 2>/dev/null | head -n 6 | tr '\n' ' ')"
echo "java: $("$JAVA" -version 2>&1 | head -n1) (the jlink-ed image in $G/jdk)"

echo; echo "== CUDA probe"
"$JAVA" "${FLAGS[@]}" -cp "$CP" dev.tav4j.runtime.cuda.CudaProbe
echo "(probe exit status $?)"

echo; echo "== GPU tests (tag gpu, every module)"
start=$(date +%s)
# scan every module's tests unless the caller selected some (JUnit refuses both at once)
select=(--scan-class-path="$(ls -d "$G"/test-classes/* | tr '\n' ':')")
for a in "$@"; do case "$a" in --select*|-c|-m|-p|-d) select=() ;; esac; done
"$JAVA" "${FLAGS[@]}" -Dtav.gpu.required="${TAV_GPU_REQUIRED:-true}" -jar "$G/junit-console.jar" execute \
    --disable-banner --disable-ansi-colors --details=tree --class-path "$CP" \
    "${select[@]}" --include-tag gpu --fail-if-no-tests "$@"
status=$?
echo "(JUnit exit status $status, $(( $(date +%s) - start )) s)"
exit $status
} 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}

echo; echo "== measured"
grep -h '\[gpu-measure\]' "$LOG" | sed 's/^.*\[gpu-measure\] /  /' || echo "  (nothing measured)"
grep -E '^(\[ *[0-9]+ (tests (successful|failed|aborted|skipped|found)|containers (failed|aborted))|Test run finished)' "$LOG" | sed 's/^/  /'
exit "$status"
