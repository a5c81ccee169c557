#!/usr/bin/env bash
# Configures, builds and runs every test (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
./tools/install-deps.sh
[ -d "$build" ] || meson setup "$build" -Dbuildtype=debugoptimized
ninja -C "$build" -j"$(nproc)"
status=0
meson test -C "$build" --print-errorlogs --num-processes "$(nproc)" "$@" || status=$?
# One closing line in the plain 'N passed, N failed' form.
python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line).get("result", "")
    key = "OK" if r in ("OK", "EXPECTEDFAIL") else "SKIP" if r == "SKIP" else "FAIL"
    counts[key] += 1
print(f"tests: {counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit $status
