#!/usr/bin/env bash
# The test command: builds every module and runs all tests (unit, kernels, golden parity) with a JDK 25.
# The golden suite reads golden/ (the repository's copy), ../shared/golden when present and the folders of $TAV_GOLDEN.
# It installs (mvn install): the library modules reach the local repository before the cli module's tests, where
# the embedding example (examples/embedding) is built against them as a service would be. Extra arguments go to mvn.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/jdk.sh
exec mvn -B -ntp install "$@"
