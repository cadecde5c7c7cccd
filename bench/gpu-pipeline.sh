#!/usr/bin/env bash
# tav4j vs PyTorch side by side on the GPU machine, from the .gpu/ package (scripts/gpu/package.sh) and the
# repository's bench/pytorch scripts: SD 1.5 shapes at 512×512, 8 and 24 frames, one precision per call (a call
# stays under the device tool's 10 minutes). The random-weight UNet (3.4 GiB) is written once to $UNET and reused.
# Usage (repository root): bench/gpu-pipeline.sh fp32|bf16|fp16 [extra tav bench pipeline options]
# Writes $OUT/pipeline-<precision>.json and .log (OUT defaults to ./out).
set -uo pipefail
prec="${1:-fp32}"; shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
G="${G:-$root/.gpu}"
OUT="${OUT:-$root/out}"; mkdir -p "$OUT"
UNET="${UNET:-/tmp/tav-sd15-unet}"
PY="${TAV_TORCH_PYTHON:-python3}"
# the H100 image of 2026-11 had torch in /opt/torch/.venv (docs/gpu.md); use it when python3 lacks torch
if ! "$PY" -c "import torch" 2>/dev/null && [ -x /opt/torch/.venv/bin/python ]; then PY=/opt/torch/.venv/bin/python; fi
if [ ! -x "$G/jdk/bin/java" ]; then tar -C "$G" -xJf "$G/jdk.tar.xz"; fi
CP="$(ls "$G"/lib/*.jar | tr '\n' ':')"
JAVA=("$G/jdk/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx24g)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$OUT/pipeline-$prec.log"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" 2>&1 | tee -a "$OUT/pipeline-$prec.log"
if [ ! -f "$UNET/config.json" ]; then
  "${JAVA[@]}" -cp "$CP" dev.tav4j.cli.Main bench weights --model sd15 --out "$UNET" 2>&1 | tail -n 2 | tee -a "$OUT/pipeline-$prec.log"
fi
cd "$root"  # so that bench/pytorch/ is found (the jar's packed copy otherwise)
"${JAVA[@]}" -cp "$CP" dev.tav4j.cli.Main bench pipeline --device cuda --precision "$prec" --unet "$UNET" \
  --frames 8,24 --latent 64 --steps 3 --torch "$PY" --json "$OUT/pipeline-$prec.json" "$@" 2>&1 | tee -a "$OUT/pipeline-$prec.log"
