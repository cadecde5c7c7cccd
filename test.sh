#!/usr/bin/env bash
# The test command: builds every module and runs all tests (unit, kernels, golden parity) with a JDK 25.
# The golden suite reads $TAV_GOLDEN (default ../shared/golden) and says plainly when it is skipped.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/jdk.sh
exec mvn -B -ntp verify "$@"
