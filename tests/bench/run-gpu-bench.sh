#!/usr/bin/env bash
# GPU benchmark: gst-wan's DiT forward against the official code's on the same
# shapes, one table with date, commit and GPU. Run on the GPU host from the repo
# root, with the official Wan2.1 repository (fetched, never committed) at $WAN_REF.
#
# usage: tests/bench/run-gpu-bench.sh BUILD_DIR [CASE ...]
#   CASE = model:WxH[:batch]   (default: i2v-14B:832x480 i2v-14B:1280x720 t2v-1.3B:832x480)
set -euo pipefail
build=$1; shift
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(i2v-14B:832x480 i2v-14B:1280x720 t2v-1.3B:832x480)
results=$(mktemp)
for c in "${cases[@]}"; do
  IFS=: read -r model size batch <<<"$c"
  batch=${batch:-1}
  "$build/tests/bench-dit" --model "$model" --size "$size" --batch "$batch" >>"$results"
  if [ -n "${WAN_REF:-}" ] && [ "$batch" = 1 ]; then
    python3 "$(dirname "$0")/reference_dit.py" "$WAN_REF" --model "$model" --size "$size" >>"$results" || true
  fi
done
python3 - "$results" <<'PY'
import json, subprocess, sys, datetime
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "?"
print(f"date {datetime.date.today()}  commit {commit}  gpu {gpu}")
print(f"| case | tokens | ours (s) | reference (s) | ratio | peak ours (GiB) | peak ref (GiB) |")
print(f"|---|---|---|---|---|---|---|")
for r in rows:
    if r["impl"] != "gst-wan":
        continue
    ref = next((q for q in rows if q["impl"] == "reference" and q["model"] == r["model"] and q["size"] == r["size"]), None)
    name = f'{r["model"]} {r["size"]} x{r["frames"]} b{r["batch"]} forward'
    rs = f'{ref["forward_s"]:.3f}' if ref else "-"
    ratio = f'{r["forward_s"] / ref["forward_s"]:.3f}' if ref else "-"
    rp = f'{ref["peak_gib"]:.1f}' if ref else "-"
    print(f'| {name} | {r["tokens"]} | {r["forward_s"]:.3f} | {rs} | {ratio} | {r["peak_gib"]:.1f} | {rp} |')
PY
