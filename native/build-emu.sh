#!/usr/bin/env bash
# Builds the host emulation library from the same .cu sources: build-emu.sh OUT_DIR.
# Without g++ it says so and exits 0 (the emulation tests then skip with that reason).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build-emu.sh OUT_DIR}"
mkdir -p "$out"
if ! command -v g++ >/dev/null 2>&1; then
  echo "build-emu: g++ not found; the emulated CUDA library is not built and its tests will be skipped" | tee "$out/libtav_emu.missing"
  exit 0
fi
rm -f "$out/libtav_emu.missing"
lib="$out/libtav_emu.so"
# Rebuild only when a source or the header is newer than the library (builds take ~1 min on 2 cores).
if [ -f "$lib" ] && [ -z "$(find "$here/src" "$here/emu" "$0" -newer "$lib" -type f | head -n1)" ]; then
  echo "build-emu: $lib is up to date"
  exit 0
fi
objs=() pids=()
# the kernels, plus the emulation's own probe kernels (native/emu/*.cu: tests of the emulation, not in the PTX)
for f in "$here"/src/*.cu "$here"/emu/*.cu; do
  o="$out/$(basename "${f%.cu}").o"
  rm -f "$o"  # a failed compile must not leave an old object to link
  g++ -x c++ -O2 -std=c++20 -fPIC -fvisibility=hidden -Wno-unknown-pragmas -include "$here/emu/cuda_emu.h" \
      -I"$here/src" -c "$f" -o "$o" &
  objs+=("$o") pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if [ "$failed" != 0 ]; then echo "build-emu: compiling the kernels for the emulation failed (see above)" >&2; exit 1; fi
g++ -shared -o "$lib.tmp" "${objs[@]}" -lpthread
mv "$lib.tmp" "$lib"
echo "build-emu: built $lib"
