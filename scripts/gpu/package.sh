#!/usr/bin/env bash
# Packs everything the GPU machine needs to run tav4j's GPU tests into .gpu/ (git-ignored, at most 60 MiB):
#   .gpu/jdk/            a jlink-ed JDK 25 runtime (no Java needed there)
#   .gpu/lib/            the module jars and their third-party dependencies
#   .gpu/test-classes/   every module's compiled tests (the gpu-tagged ones are picked at run time)
#   .gpu/junit-console.jar  the JUnit Platform console launcher (no Maven or surefire needed there)
# Then scripts/gpu/run.sh runs the tests there. Usage: scripts/gpu/package.sh [extra mvn args]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/jdk.sh
G=.gpu
LIMIT_MIB=60
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

# the forward golden cases and the tiny checkpoints they read (video FFmpeg natives and the 2D UNet weights stay
# behind to fit the 64 MiB carry limit: a-unet3d-inflated, a-train and a-pipeline run in CI on the CPU)
if [ -n "${TAV_GOLDEN:-}" ] && [ -d "$TAV_GOLDEN/cases" ]; then
  echo "== golden subset from $TAV_GOLDEN"
  for c in a-tokenize a-text-encode a-vae a-unet3d a-ddim; do mkdir -p "$G/golden/cases/$c"; cp "$TAV_GOLDEN/cases/$c/"* "$G/golden/cases/$c/"; done
  mkdir -p "$G/golden/models"
  (cd "$TAV_GOLDEN/models" && find tiny-sd-a tiny-tuned-a -type f ! -path 'tiny-sd-a/unet/diffusion_pytorch_model.safetensors' ! -name temporal_init.safetensors \
      -exec install -D -m 0644 {} "$OLDPWD/$G/golden/models/{}" \;)
fi

size_mib=$(du -sm "$G" | cut -f1)
echo "== .gpu is ${size_mib} MiB: jdk $(du -sm "$G/jdk.tar.xz" | cut -f1), lib $(du -sm "$G/lib" | cut -f1), tests $(du -sm "$G/test-classes" | cut -f1)"
if [ "$size_mib" -gt "$LIMIT_MIB" ]; then echo "over the ${LIMIT_MIB} MiB limit" >&2; exit 1; fi
