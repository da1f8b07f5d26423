#!/usr/bin/env bash
# Runs every test of georep: installs what is missing, builds, then runs the
# unit tests (GoogleTest, cmocka) and the integration tests on real GlusterFS
# (each of which starts and stops its own glusterd/sshd in a private network
# namespace). Exit status is meson's: non-zero when any test failed.
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
export GEOREP_BUILD_DIR="$PWD/$BUILD_DIR"
# Unit tests in parallel, then integration tests one at a time (they load
# the machine with real GlusterFS processes on two cores).
if [ $# -gt 0 ]; then
  exec meson test -C "$BUILD_DIR" --print-errorlogs "$@"
fi
meson test -C "$BUILD_DIR" --print-errorlogs --suite unit
meson test -C "$BUILD_DIR" --print-errorlogs --suite integration --num-processes 1
