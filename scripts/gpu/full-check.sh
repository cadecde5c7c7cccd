#!/usr/bin/env bash
# The GPU check in device-tool calls of under 10 minutes each (see docs/gpu.md, "Checking a GPU machine"). Run on the device machine
# from the repository root with `carry: [".gpu"]`; writes logs under $OUT (default .gpu/out).
#   .gpu/full-check.sh tests     every gpu-tagged test of the package (golden set as packed), tav info, tav generate
#   .gpu/full-check.sh forward   bench unet, SD 1.5 shapes: fp32, bf16 with tensor cores / fused residuals / CUDA graphs on and off
#   .gpu/full-check.sh tune      bench tune, SD 1.5 shapes, 8 frames: fp32, bf16, fp16, CUDA graphs on and off, bf16 profiles with
#                                tensor cores (forward and backward) on and off, and backward-only off
#   .gpu/full-check.sh torch P   tav4j vs PyTorch, SD 1.5 at 512×512, 8 and 24 frames, precision P (bench/gpu-pipeline.sh)
set -uo pipefail
G="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$G/out}"; mkdir -p "$OUT"
if [ ! -x "$G/jdk/bin/java" ]; then tar -C "$G" -xJf "$G/jdk.tar.xz"; fi
export TAV_GOLDEN="$G/golden"
CP="$(ls "$G"/lib/*.jar | tr '\n' ':')"
JAVA=("$G/jdk/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx24g)
tav() { "${JAVA[@]}" -cp "$CP" dev.tav4j.cli.Main "$@"; }
bench() {  # bench <log name> <env assignments or -> <tav bench args...>
  local name="$1" envs="$2"; shift 2
  echo "== ${envs#-} tav bench $*" | tee -a "$OUT/$name.log"
  if [ "$envs" = "-" ]; then tav bench "$@"; else env $envs "${JAVA[@]}" -cp "$CP" dev.tav4j.cli.Main bench "$@"; fi 2>&1 \
    | tr '\r' '\n' | grep -v '^\s*$' | tail -n "${TAIL:-20}" | tee -a "$OUT/$name.log"
}
sd15="--model sd15 --frames 8 --latent 64"
case "${1:-tests}" in
  tests)
    TAV_GPU_LOG="$OUT/gpu-tests.log" "$G/run.sh"
    echo "== tav info"; tav info 2>&1 | tee "$OUT/info.log"
    if [ -d "$TAV_GOLDEN/models/tiny-tuned-a" ]; then
      echo "== tav generate --device cuda (tiny golden checkpoint)"
      tav generate --device cuda --model "$TAV_GOLDEN/models/tiny-sd-a" --unet "$TAV_GOLDEN/models/tiny-tuned-a" \
        --prompt "a man is skiing" --frames 4 --height 128 --width 128 --seed 3 --steps 10 --out "$OUT/generate-cuda.gif" 2>&1 | tr '\r' '\n' | tail -n 3
    fi ;;
  forward)
    bench forward - unet --device cuda $sd15 --steps 3 --precision fp32
    bench forward - unet --device cuda $sd15 --steps 3 --precision bf16 --profile
    bench forward TAV_CUDA_TENSOR_CORES=0 unet --device cuda $sd15 --steps 3 --precision bf16 --profile
    bench forward TAV_CUDA_FUSE_RESIDUALS=0 unet --device cuda $sd15 --steps 3 --precision bf16
    bench forward - unet --device cuda $sd15 --steps 10 --precision bf16 --cuda-graphs off
    bench forward - unet --device cuda $sd15 --steps 10 --precision bf16 --cuda-graphs on
    bench forward - unet --device cuda --model anchor --frames 8 --latent 32 --steps 20 --cuda-graphs off
    bench forward - unet --device cuda --model anchor --frames 8 --latent 32 --steps 20 --cuda-graphs on
    bench forward - unet --device cuda --model sd15 --frames 24 --latent 64 --steps 2 --precision bf16 ;;
  tune)
    for p in fp32 bf16 fp16; do bench tune - tune --device cuda $sd15 --steps 3 --precision $p; done
    bench tune - tune --device cuda $sd15 --steps 3 --precision bf16 --cuda-graphs off
    TAIL=45 bench tune - tune --device cuda $sd15 --steps 2 --precision bf16 --profile
    TAIL=45 bench tune TAV_CUDA_TENSOR_CORES=0 tune --device cuda $sd15 --steps 2 --precision bf16 --profile
    bench tune TAV_CUDA_TENSOR_CORES_BACKWARD=0 tune --device cuda $sd15 --steps 2 --precision bf16
    bench tune - tune --device cuda --model anchor --frames 8 --latent 32 --steps 10 --cuda-graphs off
    bench tune - tune --device cuda --model anchor --frames 8 --latent 32 --steps 10 --cuda-graphs on ;;
  torch)
    cd "$G/.." && OUT="$OUT" bench/gpu-pipeline.sh "${2:-bf16}" ;;
  *) echo "usage: $0 tests|forward|tune|torch [fp32|bf16|fp16]" >&2; exit 2 ;;
esac
