#!/usr/bin/env bash
# Runs every test of georep: installs what is missing, builds, then runs the
# unit tests (GoogleTest, cmocka) and the integration tests on real GlusterFS
# (each of which starts and stops its own glusterd/sshd in a private network
# namespace). Ends with one line "N passed, N failed, N skipped" over both
# runs. Exit status: non-zero when any test failed.
#
#   scripts/run-tests.sh                 everything
#   scripts/run-tests.sh --suite unit    only unit tests (any meson test args work)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${GEOREP_BUILD_DIR:-build}
scripts/install-deps.sh
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  meson setup "$BUILD_DIR" --buildtype=debugoptimized
fi
ninja -C "$BUILD_DIR"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$PWD/$BUILD_DIR" ;; esac
export GEOREP_BUILD_DIR="$BUILD_DIR"
if [ $# -gt 0 ]; then
  exec meson test -C "$BUILD_DIR" --print-errorlogs "$@"
fi

PASSED=0 FAILED=0 SKIPPED=0 RC=0
# run_tests ARGS...: one meson test run, its counts added to the totals.
run_tests() {
  local log rc
  log=$(mktemp)
  set +e
  meson test -C "$BUILD_DIR" --print-errorlogs "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  # meson's summary: "Ok: N", "Fail: N", "Timeout: N", "Unexpected Pass: N", "Skipped: N".
  count() { awk -v k="$1" 'index($0, k) == 1 { n = $NF } END { print n + 0 }' "$log"; }
  PASSED=$((PASSED + $(count "Ok:")))
  FAILED=$((FAILED + $(count "Fail:") + $(count "Timeout:") + $(count "Unexpected Pass:")))
  SKIPPED=$((SKIPPED + $(count "Skipped:")))
  rm -f "$log"
  if [ "$rc" -ne 0 ]; then RC=$rc; fi
}
# Unit tests in parallel, then integration tests one at a time (they load
# the machine with real GlusterFS processes on two cores).
run_tests --suite unit
run_tests --suite integration --num-processes 1
echo "${PASSED} passed, ${FAILED} failed, ${SKIPPED} skipped"
exit "$RC"
