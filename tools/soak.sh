#!/usr/bin/env bash
# The stop soak at length: ROUNDS (default 1000) NULL <-> PLAYING cycles of wanvideosrc on the
# tiny fixture checkpoint, the stop landing in each phase in turn (load, encode, denoise,
# decode); fails on a stop slower than a second or a growing resident set. The test suite
# runs 100 of them (gst-soak-stop-in-every-phase). Needs a build (./tools/run-tests.sh).
#   tools/soak.sh [ROUNDS] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1000}
build=${2:-build}
WAN_SOAK_ROUNDS=$rounds GST_CHECKS=test_soak_stop_in_every_phase CK_DEFAULT_TIMEOUT=7200 MALLOC_ARENA_MAX=2 \
  GST_PLUGIN_PATH_1_0="$build/gst" GST_REGISTRY_1_0="$build/tests/registry-soak.bin" \
  WAN_E2E_CASE="$PWD/tests/fixtures/e2e-i2v-tiny" "$build/tests/test-wanvideosrc"
