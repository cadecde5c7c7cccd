#!/usr/bin/env bash
# The whole GPU check in one call on the device machine (see docs/gpu.md): the gpu-tagged tests (bindings,
# every kernel against the CPU backend, the forward golden cases on the cuda backend), `tav generate --device
# cuda` end to end on the tiny golden checkpoint, and `tav bench unet --device cuda` at the real SD 1.5 shapes.
# Writes logs under $OUT when set. Usage: .gpu/full-check.sh
set -uo pipefail
G="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$G/out}"; mkdir -p "$OUT"
if [ ! -x "$G/jdk/bin/java" ]; then tar -C "$G" -xJf "$G/jdk.tar.xz"; fi
export TAV_GOLDEN="$G/golden"
CP="$(ls "$G"/lib/*.jar | tr '\n' ':')"
JAVA=("$G/jdk/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx24g)
TAV_GPU_LOG="$OUT/gpu-tests.log" "$G/run.sh"
echo "== tav info"
"${JAVA[@]}" -cp "$CP" dev.tav4j.cli.Main info 2>&1 | tee "$OUT/info.log"
echo "== tav generate --device cuda (tiny golden checkpoint)"
"${JAVA[@]}" -cp "$CP" dev.tav4j.cli.Main generate --device cuda --model "$TAV_GOLDEN/models/tiny-sd-a" \
   --unet "$TAV_GOLDEN/models/tiny-tuned-a" --prompt "a man is skiing" --frames 4 --height 128 --width 128 --seed 3 --steps 10 \
   --out "$OUT/generate-cuda.gif" 2>&1 | tr '\r' '\n' | tail -n 3
for args in "--model sd15 --frames 8 --latent 64 --steps 2" "--model sd15 --frames 24 --latent 64 --steps 2" "--model anchor --frames 8 --latent 32 --steps 3"; do
  echo "== tav bench unet --device cuda $args"
  "${JAVA[@]}" -cp "$CP" dev.tav4j.cli.Main bench unet --device cuda $args 2>&1 | tail -n 3 | tee -a "$OUT/bench.log"
done
