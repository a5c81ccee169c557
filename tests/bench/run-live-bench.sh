#!/usr/bin/env bash
# Live mode (wanvideosrc live=true) through gst-launch-1.0 on a causal checkpoint folder, e.g.
# the full-size random one make_fullsize_causal_checkpoint.py writes (the cost does not depend
# on the values): for each size, SECONDS of streaming after the first frame, then a summary per
# size (live_bench.py): time from PLAYING to the first frame, fps at the sink, per-chunk times,
# wan-live-behind messages and the GPU memory over the run, as human lines and one JSON line.
# Run on the GPU host from the repo root, GStreamer staged (tools/gpu-check.sh shows how).
#
# usage: tests/bench/run-live-bench.sh BUILD_DIR CKPT_DIR [SECONDS] [SIZES]
#   SECONDS  of streaming after the first frame per size (120)
#   SIZES    space-separated WxH ("832x480 1280x720")
# environment: WAN_BENCH_DEVICE (cuda:0; cpu to try the tooling here), WAN_BENCH_SYNC (true),
# WAN_BENCH_PROMPT, WAN_BENCH_LOAD_TIMEOUT (900 s to the first frame), WAN_BENCH_PROPS (more
# element properties, e.g. "live-decoder=taew2_1 preview-model=$CKPT_DIR/taew2_1.pth"; write that
# file with make_fullsize_causal_checkpoint.py CKPT_DIR SPIECE_MODEL --taew-only)
set -uo pipefail
build=$1 ckpt=$2 seconds=${3:-120} sizes=${4:-"832x480 1280x720"}
here=$(dirname "$0")
export GST_PLUGIN_PATH=$PWD/$build/gst
if [ ! -f "$ckpt/self_forcing_dmd.pt" ]; then
  echo "$ckpt has no self_forcing_dmd.pt: write one with" \
       "python3 $here/make_fullsize_causal_checkpoint.py $ckpt SPIECE_MODEL" >&2
  exit 2
fi
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
echo "date $(date -u +%F) commit $(git rev-parse --short HEAD 2>/dev/null || echo ?) gpu ${gpu:-none}"
status=0
for size in $sizes; do
  echo "== live $size, ${seconds} s${WAN_BENCH_PROPS:+, $WAN_BENCH_PROPS}"
  python3 "$here/live_bench.py" "$ckpt" "$size" "$seconds" ${WAN_BENCH_PROMPT:+"$WAN_BENCH_PROMPT"} || status=1
done
exit $status
