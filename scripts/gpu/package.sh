#!/usr/bin/env bash
# Packs everything the GPU machine needs to run tav4j's GPU tests into .gpu/ (git-ignored; the device tool's 64 MiB
# covers the working tree that travels with it, so .gpu gets what the tracked and untracked files leave):
#   .gpu/jdk/            a jlink-ed JDK 25 runtime (no Java needed there)
#   .gpu/lib/            the module jars and their third-party dependencies
#   .gpu/test-classes/   every module's compiled tests (the gpu-tagged ones are picked at run time)
#   .gpu/junit-console.jar  the JUnit Platform console launcher (no Maven or surefire needed there)
# Then scripts/gpu/run.sh runs the tests there. Usage: scripts/gpu/package.sh [extra mvn args]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/jdk.sh
G=.gpu
rm -rf "$G"
mkdir -p "$G/lib" "$G/test-classes"

echo "== building (tests compiled, not run)"
# one reactor run, so the modules' own jars resolve from the build; third-party jars of every module (test
# scope) are copied beside them, JUnit excepted (it comes with the console launcher)
mvn -B -ntp -q -DskipTests "$@" package dependency:copy-dependencies -DincludeScope=test \
    -DexcludeGroupIds=dev.tav4j,org.junit.jupiter,org.junit.platform,org.junit,org.opentest4j,org.apiguardian,org.bytedeco \
    -DoutputDirectory="$PWD/$G/lib"
for m in */pom.xml; do
  m=${m%/pom.xml}
  for j in "$m"/target/tav4j-*.jar; do [ -f "$j" ] && cp "$j" "$G/lib/"; done
  if [ -d "$m/target/test-classes" ]; then cp -r "$m/target/test-classes" "$G/test-classes/$m"; fi
done

echo "== JUnit console launcher"
jupiter=$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml)
# JUnit 5.x.y ships platform 1.x.y
platform="1.${jupiter#5.}"
mvn -B -ntp -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$platform" \
    -DoutputDirectory="$PWD/$G" -Dmdep.stripVersion=true
mv "$G/junit-platform-console-standalone.jar" "$G/junit-console.jar"

echo "== jlink ($JAVA_HOME)"
# jdk.zipfs: the console launcher reads jars through it; jdk.unsupported: sun.misc.Unsafe for libraries;
# (java.xml and java.management are left out to stay under the size limit: no XML test reports.)
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,jdk.unsupported,jdk.zipfs,jdk.incubator.vector \
    --strip-debug --no-man-pages --no-header-files --compress zip-9 --output "$G/jdk" 2>&1 | grep -v 'incubator modules' || true
[ -x "$G/jdk/bin/java" ] || { echo "jlink failed" >&2; exit 1; }
cp scripts/gpu/run.sh scripts/gpu/full-check.sh "$G/"
# the image travels as one xz tarball (44 → ~20 MiB); run.sh unpacks it on the GPU machine
tar -C "$G" -cJf "$G/jdk.tar.xz" jdk && rm -rf "$G/jdk"

# A golden subset and the tiny checkpoints it reads; both sets do not fit the 64 MiB carry limit together.
#   TAV_GPU_GOLDEN=forward (default): tokenize, text_encode, vae, unet3d (+ the tuned tiny UNet), ddim
#   TAV_GPU_GOLDEN=train: train and pipeline (+ the 2D tiny UNet and its temporal init), for GoldenCudaTrainTest,
#     GoldenCudaBf16TrainTest and GoldenCudaPipelineTest
if [ -n "${TAV_GOLDEN:-}" ] && [ -d "$TAV_GOLDEN/cases" ]; then
  set_name="${TAV_GPU_GOLDEN:-forward}"
  echo "== golden subset '$set_name' from $TAV_GOLDEN"
  case "$set_name" in
    forward) cases="a-tokenize a-text-encode a-vae a-unet3d a-ddim"; models="tiny-sd-a tiny-tuned-a"
             skip=(! -path 'tiny-sd-a/unet/diffusion_pytorch_model.safetensors' ! -name temporal_init.safetensors) ;;
    train)   cases="a-train a-pipeline"; models="tiny-sd-a"; skip=() ;;
    *) echo "TAV_GPU_GOLDEN must be forward or train, got '$set_name'" >&2; exit 2 ;;
  esac
  # the repository's golden/ travels with the working tree and holds both sets (golden/README.md): pack only what
  # it lacks, so the same files do not travel twice
  missing=""
  for c in $cases; do [ -f "golden/cases/$c/case.json" ] || missing="$missing $c"; done
  if [ -z "$missing" ]; then
    echo "   every case of '$set_name' is in the repository's golden/: nothing packed (the tests read golden/)"
  else
    mkdir -p "$G/golden" && echo "$set_name" > "$G/golden/SUBSET"  # the golden tests name the set they miss
    for c in $missing; do mkdir -p "$G/golden/cases/$c"; cp "$TAV_GOLDEN/cases/$c/"* "$G/golden/cases/$c/"; done
    mkdir -p "$G/golden/models"
    (cd "$TAV_GOLDEN/models" && find $models -type f "${skip[@]}" -exec install -D -m 0644 {} "$OLDPWD/$G/golden/models/{}" \;)
  fi
fi

size=$(du -sb "$G" | cut -f1)
tree=$(git ls-files -co --exclude-standard -z | xargs -0 du -cb 2>/dev/null | tail -n1 | cut -f1)
limit=$((64 * 1024 * 1024))
mib() { echo "$(( ($1 + 524288) / 1048576 ))"; }
echo "== .gpu is $(mib "$size") MiB: jdk $(du -sm "$G/jdk.tar.xz" | cut -f1), lib $(du -sm "$G/lib" | cut -f1), tests $(du -sm "$G/test-classes" | cut -f1), golden $(du -sm "$G/golden" 2>/dev/null | cut -f1 || echo 0); with the working tree ($(mib "$tree") MiB) $(mib $((size + tree))) of 64 MiB"
if [ $((size + tree)) -gt "$limit" ]; then echo "over the device tool's 64 MiB for the working tree and .gpu together" >&2; exit 1; fi
