# Sourced by ./tav, ./test.sh and .ci/run: exports JAVA_HOME pointing at a JDK 25 or newer, or exits with why.
# The major version: from the JDK's release file (JAVA_VERSION="25.0.3"), else by asking its java (a JVM start, ~0.2 s
# on every tav command).
java_major() {
  local v=""
  [ -f "$1/release" ] && v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" | head -n1)
  [ -n "$v" ] || v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1)
  echo "$v"
}
tav_find_jdk() {
  local c v
  for c in "${TAV_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25* /usr/lib/jvm/*-25* /usr/lib/jvm/jdk-2[5-9]* /usr/lib/jvm/*; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    v=$(java_major "$c")
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then export JAVA_HOME="$c"; return 0; fi
  done
  echo "tav4j needs a JDK 25 or newer; none found (looked at \$TAV_JAVA_HOME, \$JAVA_HOME and /usr/lib/jvm). Install one and set JAVA_HOME." >&2
  exit 1
}
tav_find_jdk
export PATH="$JAVA_HOME/bin:$PATH"
