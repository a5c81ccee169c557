#!/usr/bin/env bash
# The README's main command: builds the project, makes a tiny random-weights
# checkpoint in the official Wan2.1 layout (it shows the whole machinery, not a
# real model's video: the pictures are noise), and writes an MP4 through the
# wanvideosrc element with gst-launch-1.0. usage: tools/demo.sh [OUT.mp4]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
out=${1:-demo.mp4}
./tools/install-deps.sh
[ -d "$build" ] || meson setup "$build" -Dbuildtype=debugoptimized
ninja -C "$build"
ckpt="$build/demo-checkpoint"
[ -f "$ckpt/config.json" ] || "$build/examples/wan-make-demo-checkpoint" "$ckpt"
export GST_PLUGIN_PATH="$PWD/$build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
gst-launch-1.0 -e wanvideosrc model-path="$ckpt" image-location=tests/fixtures/e2e-i2v-tiny/input.png \
    prompt="a red house on a hill at sunset" num-frames=33 steps=10 max-area=76800 seed=42 device=cpu \
  ! videoconvert ! video/x-raw,format=I420 ! x264enc ! mp4mux ! filesink location="$out"
gst-discoverer-1.0 "$out"
