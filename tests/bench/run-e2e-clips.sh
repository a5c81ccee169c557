#!/usr/bin/env bash
# End-to-end clip times through the element on a full-size random i2v-14B checkpoint (the cost
# does not depend on the values): the checkpoint is written once by make_fullsize_checkpoint.py
# (the official Wan2.1 repository, fetched, never committed, at WAN_REPO), then each case runs
# gst-launch-1.0 wanvideosrc ... ! fakesink and prints every phase's time since the clip started
# (load excluded: the model is loaded before a clip starts) and the clip's forward counts.
# Run on the GPU host from the repo root, GStreamer staged (tools/gpu-check.sh shows how).
#
# usage: tests/bench/run-e2e-clips.sh BUILD_DIR WAN_REPO [CKPT_DIR]
# CASES (environment, ';'-separated "label|WxH|properties"), default: the 4-step clips at 480p
# and 720p in bf16 and fp8.
set -uo pipefail
build=$1 repo=$2 ckpt=${3:-/tmp/wan-i2v-14b-random}
here=$(dirname "$0")
export GST_PLUGIN_PATH=$PWD/$build/gst
spiece=tests/fixtures/e2e-i2v-tiny/ckpt/google/umt5-xxl/spiece.model
[ -f "$ckpt/config.json" ] || python3 "$here/make_fullsize_checkpoint.py" "$repo" "$ckpt" "$spiece" | tail -1
cases=${CASES:-"480p 4-step bf16|832x480|solver=distill;480p 4-step fp8|832x480|solver=distill dtype=fp8;\
720p 4-step bf16|1280x720|solver=distill;720p 4-step fp8|1280x720|solver=distill dtype=fp8"}
echo "date $(date -u +%F) commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)" \
     "gpu $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)"
IFS=';' read -ra list <<<"$cases"
for c in "${list[@]}"; do
  IFS='|' read -r label size props <<<"$c"
  t0=$(date +%s)
  echo "== $label"
  # shellcheck disable=SC2086  # the properties are separate words
  gst-launch-1.0 -m wanvideosrc model-path="$ckpt" image-location=tests/fixtures/e2e-i2v-tiny/input.png \
      prompt="a cat walks on the beach" device=cuda:0 seed=1 $props \
    ! "video/x-raw,width=${size%x*},height=${size#*x}" ! fakesink 2>&1 | python3 "$here/clip_times.py"
  echo "   (process $(( $(date +%s) - t0 )) s, load included)"
done
