#!/usr/bin/env bash
# Builds the tav4j kernels to PTX and records register / spill use per kernel.
#
#   native/build.sh            regenerate kernels/src/main/resources/dev/tav4j/kernels/tav4j.ptx.gz,
#                              tav4j.ptx.sha256 (the sources it came from) and native/ptxas-sm90.txt: commit them
#
# The PTX is stored gzip-compressed (-n: no name or time, so the same PTX gives the same bytes): 14 MB of text is
# 2.5 MB, which keeps the repository small enough to travel to a GPU machine with a test package beside it.
#   native/build.sh --check    fail if the checked-in PTX does not match the sources (used by the Maven build)
#
# One PTX for compute_80: Ampere runs it as is and Hopper (sm_90) and later JIT it when the module is loaded
# (cuModuleLoadData), so a single file serves every GPU the engine supports. No sm_90-only instructions are
# used, so nothing is lost; ptxas -arch=sm_90 is still run to report registers and spills for the H100.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
res="$root/kernels/src/main/resources/dev/tav4j/kernels"
ptx="$res/tav4j.ptx"       # the names of the fingerprint files (.sha256, .info)
ptxgz="$res/tav4j.ptx.gz"   # the checked-in module
NVCC_FLAGS=(-std=c++17 -O3 -arch=compute_80)

# The fingerprint of everything that determines the PTX: sources, header and these flags.
sources_hash() {
  (cd "$here" && { ls src/*.cu src/*.cuh; echo "${NVCC_FLAGS[*]}"; } | LC_ALL=C sort | while read -r f; do
     if [ -f "$f" ]; then echo "$f $(sha256sum < "$f" | cut -d' ' -f1)"; else echo "$f"; fi
   done) | sha256sum | cut -d' ' -f1
}

build_ptx() {  # build_ptx OUT_FILE: one translation unit including every source, so one PTX module
  local tmp; tmp="$(mktemp -d)"
  for f in "$here"/src/*.cu; do echo "#include \"$(basename "$f")\""; done > "$tmp/tav4j_all.cu"
  nvcc "${NVCC_FLAGS[@]}" -I"$here/src" -ptx "$tmp/tav4j_all.cu" -o "$1"
  rm -rf "$tmp"
}

if [ "${1:-}" = "--check" ]; then
  # --check [STAMP_DIR]: a stamp there remembers a successful nvcc comparison, so unchanged trees skip nvcc.
  stampdir="${2:-}"
  want="$(sources_hash)"
  have="$(cat "$ptx.sha256" 2>/dev/null || echo none)"
  if [ "$want" != "$have" ]; then
    echo "tav4j.ptx is STALE: native/src changed since the PTX was built. Run native/build.sh and commit." >&2
    exit 1
  fi
  if ! command -v nvcc >/dev/null 2>&1; then
    echo "native: nvcc not found; using the checked-in tav4j.ptx (its source fingerprint matches native/src)"
    exit 0
  fi
  # ./tav's build of the jar: the fingerprint only (the nvcc comparison takes minutes and changes nothing in the jar)
  if [ "${TAV_PTX_NVCC_CHECK:-1}" = 0 ]; then
    echo "native: nvcc comparison skipped (TAV_PTX_NVCC_CHECK=0); the checked-in tav4j.ptx's source fingerprint matches native/src"
    exit 0
  fi
  key="$want $(sha256sum < "$ptxgz" | cut -d' ' -f1) $(nvcc --version | tail -1)"
  if [ -n "$stampdir" ] && [ "$(cat "$stampdir/ptx.ok" 2>/dev/null)" = "$key" ]; then
    echo "native: checked-in tav4j.ptx already verified against nvcc output"
    exit 0
  fi
  tmp="$(mktemp)"
  build_ptx "$tmp"
  if ! diff -q <(grep -v '^//' "$tmp") <(gzip -dc "$ptxgz" | grep -v '^//') >/dev/null; then
    rm -f "$tmp"
    if [ "$(nvcc --version | tail -1)" != "$(sed -n 's/^\/\/ nvcc: //p' "$ptx.info" 2>/dev/null)" ]; then
      echo "native: nvcc $(nvcc --version | tail -1) differs from the one that built tav4j.ptx; sources match, keeping the checked-in PTX"
      exit 0
    fi
    echo "tav4j.ptx is STALE: nvcc output differs from the checked-in PTX. Run native/build.sh and commit." >&2
    exit 1
  fi
  rm -f "$tmp"
  if [ -n "$stampdir" ]; then mkdir -p "$stampdir"; echo "$key" > "$stampdir/ptx.ok"; fi
  echo "native: regenerated PTX matches the checked-in tav4j.ptx"
  exit 0
fi

command -v nvcc >/dev/null || { echo "nvcc not found: install the CUDA toolkit (12+) to rebuild the PTX" >&2; exit 1; }
mkdir -p "$res"
tmpptx="$(mktemp --suffix=.ptx)"
build_ptx "$tmpptx"
gzip -9 -n -c "$tmpptx" > "$ptxgz.tmp"
mv "$ptxgz.tmp" "$ptxgz"
rm -f "$ptx"  # the uncompressed name of earlier builds
sources_hash > "$ptx.sha256"
echo "// nvcc: $(nvcc --version | tail -1)" > "$ptx.info"
# Registers and spills per kernel on the H100.
ptxas -v -arch=sm_90 "$tmpptx" -o /dev/null 2>&1 | awk '
  /Compiling entry function/ { match($0, /'"'"'[^'"'"']+'"'"'/); name = substr($0, RSTART + 1, RLENGTH - 2) }
  /bytes stack frame/ { frame = $0; sub(/^ptxas info *: */, "", frame) }
  /Used [0-9]+ registers/ { u = $0; sub(/^ptxas info *: */, "", u); printf "%-40s %s | %s\n", name, u, frame }
' | sort > "$here/ptxas-sm90.txt"
echo "built $ptxgz ($(grep -c '^\.visible \.entry' "$tmpptx") kernels, $(du -h "$ptxgz" | cut -f1) compressed); registers in native/ptxas-sm90.txt"
rm -f "$tmpptx"
