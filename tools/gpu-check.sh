#!/usr/bin/env bash
# The GPU path checked in one command. On the GPU host (Ubuntu with PyTorch + CUDA, nvcc,
# meson and ninja; no GStreamer, no network) it stages the Debian packages the build needs,
# builds with CUDA into a git-ignored folder, and runs: the whole meson test suite (GPU-only
# tests included), wan-parity --device cuda on every case in tests/fixtures (float32, TF32
# off) and --dtype bfloat16 on the DiT cases, each bench binary as a 2-layer smoke run, and
# gst-launch through wanvideosrc device=cuda:0 into an MP4 checked by gst-discoverer.
# Prints one table; exits non-zero when any check fails.
#
#   tools/gpu-check.sh --download   # on Debian 12 (with apt): fetch those packages into .debs/
#   tools/gpu-check.sh              # on the GPU host, with .debs/ beside it (device tool: carry .debs)
#
# BUILD_DIR (default build-gpu), DEBS_DIR (.debs), GST_PREFIX (/opt/gst) override the places.
# STEPS (default "test parity bench launch") picks the checks after the build, so that the
# whole check can be split over calls shorter than it (the build is kept in BUILD_DIR).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-gpu}
debs=${DEBS_DIR:-.debs}
prefix=${GST_PREFIX:-/opt/gst}
steps=" ${STEPS:-test parity bench launch} "
wants() { [[ $steps == *" $1 "* ]]; }

if [ "${1:-}" = "--download" ]; then
  exec tools/stage-gstreamer.sh download "$debs"
fi

rows=()
failed=0
# row NAME STATUS DETAIL: STATUS is ok, skip or FAIL.
row() {
  rows+=("| $1 | $2 | $3 |")
  [ "$2" = FAIL ] && failed=1
  printf '== %s: %s %s\n' "$1" "$2" "$3"
}
print_table() {
  echo
  echo "gpu-check $(date -u +%Y-%m-%dT%H:%MZ), $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)," \
       "torch $(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null)"
  echo "| check | result | detail |"
  echo "|---|---|---|"
  printf '%s\n' "${rows[@]}"
}
seconds_since() { echo "$(( $(date +%s) - $1 )) s"; }

# 1. Stage GStreamer, GLib and the other -dev packages the host lacks.
if ! pkg-config --exists gstreamer-check-1.0 nlohmann_json 2>/dev/null; then
  if [ ! -d "$prefix/usr" ]; then
    if ! ls "$debs"/*.deb >/dev/null 2>&1; then
      echo "gpu-check: no GStreamer here and no packages in $debs/: run 'tools/gpu-check.sh --download'" \
           "on a Debian 12 machine and bring $debs along (device tool: carry [\"$debs\"])" >&2
      exit 2
    fi
    tools/stage-gstreamer.sh unpack "$debs" "$prefix"
  fi
  eval "$(tools/stage-gstreamer.sh env "$prefix")"
fi
export PATH=/usr/local/cuda/bin:$PATH
export GST_PLUGIN_PATH=$PWD/$build/gst

# 2. Build with CUDA.
t0=$(date +%s)
if { [ -f "$build/build.ninja" ] || meson setup "$build" -Dtorch=python -Dcuda=enabled -Dbuildtype=debugoptimized; } &&
   ninja -C "$build" -j"$(nproc)"; then
  row build ok "$(seconds_since "$t0"), CUDA kernels for sm_90"
else
  row build FAIL "see the log above"
  print_table
  exit 1
fi

if wants test; then
# 3. The whole meson test suite, GPU-only tests included.
t0=$(date +%s)
# Each test's libtorch would start one thread per core: with several tests at once the cores are
# oversubscribed, and the timing-sensitive tests (live pacing, timeouts) fail for want of CPU.
jobs=$(( $(nproc) / 2 )); [ "$jobs" -ge 1 ] || jobs=1
OMP_NUM_THREADS=2 meson test -C "$build" --print-errorlogs --num-processes "$jobs" >"$build/meson-test.out" 2>&1
summary=$(python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
ok, bad, skip = [], [], []
for line in open(sys.argv[1]):
    r = json.loads(line)
    res = r.get("result", "")
    (ok if res in ("OK", "EXPECTEDFAIL") else skip if res == "SKIP" else bad).append(r["name"])
detail = f"{len(ok)} passed, {len(bad)} failed, {len(skip)} skipped"
if bad: detail += "; failed: " + ", ".join(bad)
if skip: detail += "; skipped: " + ", ".join(skip)
print(("FAIL" if bad else "ok") + "\t" + detail)
PY
)
[ -n "$summary" ] || summary=$'FAIL\tno test log'
row "meson test" "${summary%%$'\t'*}" "${summary#*$'\t'} ($(seconds_since "$t0"))"
if grep -qE "\b(FAIL|ERROR|TIMEOUT)\b" "$build/meson-test.out"; then
  grep -E "\b(FAIL|ERROR|TIMEOUT)\b" "$build/meson-test.out" | head -40
  tail -n 150 "$build/meson-test.out"  # the failed tests' logs (--print-errorlogs)
fi
fi

# 4. Every reference case on CUDA in float32 (TF32 off inside wan-parity), the DiT cases in bfloat16
#    too, the LoRA cases merged and at run time.
parity() {  # parity LABEL ARGS...: one row, with the largest relative L2 error printed
  local label=$1; shift
  local out status
  out=$(timeout 600 "$build/tests/wan-parity" "$@" 2>&1); status=$?
  echo "$out" | tail -n 40
  local worst
  worst=$(echo "$out" | sed -n 's/.*rel_l2 \([0-9.e+-]*\).*/\1/p' | sort -g | tail -1)
  if [ $status -eq 0 ]; then
    row "$label" ok "max rel. L2 ${worst:-n/a}"
  else
    row "$label" FAIL "exit $status: $(echo "$out" | grep -E 'FAIL|wan-parity:' | head -3 | tr '\n' ' ' | cut -c1-300)"
  fi
}
if wants parity; then
for dir in tests/fixtures/*/; do
  [ -f "$dir/case.json" ] || continue
  name=$(basename "$dir")
  kind=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kind"])' "$dir/case.json")
  parity "parity $name cuda f32" --device cuda "$dir"
  case $kind in
    dit) parity "parity $name cuda bf16" --device cuda --dtype bfloat16 --tolerance 2e-2 "$dir" ;;
    dit-lora)
      parity "parity $name cuda f32 runtime" --device cuda --lora-mode runtime "$dir"
      for mode in merge runtime; do
        parity "parity $name cuda bf16 $mode" --device cuda --dtype bfloat16 --tolerance 2e-2 --lora-mode $mode "$dir"
      done ;;
  esac
done
fi

# 5. Each bench binary as a smoke run: 2 layers, a small size.
# A bench's last line in short: its timings and peak memory when it is JSON.
summarize() {
  python3 -c '
import json, sys
line = sys.stdin.read().strip()
try:
    r = json.loads(line)
except ValueError:
    print(" ".join(line.split())[:160]); sys.exit()
keys = [k for k in r if k.endswith("_s") or k.endswith("_gib") or k.startswith("rel_l2")]
print(", ".join(f"{k} {r[k]}" for k in keys))'
}
bench() {  # bench LABEL COMMAND...
  local label=$1; shift
  local out status
  out=$(timeout 300 "$@" 2>&1); status=$?
  echo "$out" | tail -n 20
  if [ $status -eq 0 ]; then row "$label" ok "$(echo "$out" | tail -n 1 | summarize)"
  else row "$label" FAIL "exit $status: $(echo "$out" | tail -n 3 | tr '\n' ' ' | cut -c1-300)"; fi
}
if wants bench; then
bench "bench-dit i2v-14B" "$build/tests/bench-dit" --model i2v-14B --size 320x192 --frames 17 --layers 2 --iters 1
bench "bench-dit i2v-14B + run-time LoRA" "$build/tests/bench-dit" --model i2v-14B --size 320x192 --frames 17 --layers 2 \
  --iters 1 --lora-rank 16
bench "bench-dit i2v-14B fp8" "$build/tests/bench-dit" --model i2v-14B --size 320x192 --frames 17 --layers 2 --iters 1 \
  --dtype fp8
bench "bench-dit t2v-1.3B f32" "$build/tests/bench-dit" --model t2v-1.3B --size 320x192 --frames 17 --layers 2 \
  --iters 1 --dtype float32
bench "bench-vae" "$build/tests/bench-vae" --size 320x192 --frames 17 --iters 1
bench "bench-encoders" "$build/tests/bench-encoders" 1 --layers 2
if [ -x "$build/tests/bench-dit-ops" ]; then
  bench "bench-dit-ops" "$build/tests/bench-dit-ops" 1024
else
  row "bench-dit-ops" FAIL "not built (CUDA kernels missing?)"
fi
fi

# 6. The element through gst-launch on the GPU into an MP4, checked by gst-discoverer.
if wants launch; then
out=$(timeout 600 python3 tests/gst/gst_launch_mp4.py tests/fixtures/e2e-i2v-tiny cuda:0 2>&1); status=$?
echo "$out" | tail -n 30
case $status in
  0) row "gst-launch wanvideosrc device=cuda:0" ok "$(echo "$out" | tail -n 1)" ;;
  77) row "gst-launch wanvideosrc device=cuda:0" FAIL "skipped: $(echo "$out" | tail -n 1)" ;;
  *) row "gst-launch wanvideosrc device=cuda:0" FAIL "exit $status: $(echo "$out" | tail -n 3 | tr '\n' ' ' | cut -c1-300)" ;;
esac
fi

print_table
exit $failed
