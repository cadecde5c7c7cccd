#!/usr/bin/env bash
# Checks the launcher's AOT cache (docs/performance.md, "Start-up") in this checkout: made on first use, reused
# silently, ignored silently when damaged, made anew (and the old one deleted) when the jar changes, untouched with
# TAV_AOT=0. Trains twice: about a minute on 2 cores. Builds the jar first if needed. Exit 0 when all hold.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=cli/target/aot
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1" >&2; fail=1; fi; }
# prints the stderr of ./tav --version without the JVM's incubator warning; returns its exit code
run() {
  local out rc
  out=$(./tav --version 2>&1 >/dev/null) && rc=0 || rc=$?
  grep -v '^WARNING: Using incubator modules' <<< "$out" || true
  return $rc
}

./tav --version > /dev/null 2>&1   # build, and a cache if there is none
rm -rf "$dir"
err=$(run) || true
check "first use makes the cache" '[ "$(ls $dir/tav-*.aot 2>/dev/null | wc -l)" = 1 ] && grep -q "start-up cache made" <<< "$err"'
first=$(ls $dir/tav-*.aot)
err=$(run) || true
check "second use reuses it, silently" '[ -z "$err" ] && [ "$(ls $dir/tav-*.aot)" = "$first" ]'
cp "$first" "$first.keep"
head -c 100000 /dev/urandom > "$first"
err=$(run) && rc=0 || rc=$?
check "a damaged cache is ignored, silently" '[ $rc = 0 ] && [ -z "$err" ]'
mv -f "$first.keep" "$first"
before=$(ls -l "$dir")
err=$(TAV_AOT=0 run) || true
check "TAV_AOT=0 neither makes nor touches a cache" '[ -z "$err" ] && [ "$(ls -l $dir)" = "$before" ]'
touch cli/target/tav.jar
err=$(run) || true
check "a changed jar gets a new cache, the old one is deleted" \
  '[ "$(ls $dir/tav-*.aot | wc -l)" = 1 ] && [ "$(ls $dir/tav-*.aot)" != "$first" ] && grep -q "start-up cache made" <<< "$err"'
exit $fail
