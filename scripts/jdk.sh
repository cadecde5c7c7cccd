# Sourced by ./tav, ./test.sh and .ci/run: exports JAVA_HOME pointing at a JDK 25 or newer, or exits with why.
java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1; }
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
