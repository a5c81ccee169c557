#!/usr/bin/env python3
"""Reads `gst-launch-1.0 -m` output of wanvideosrc on stdin and prints, per clip, each phase's last
wan-progress step and its elapsed time since the clip started (load excluded), the clip's
wan-clip-done fields, and any error line: the end-to-end time of a clip through the element."""
import re
import sys

PROGRESS = re.compile(r"wan-progress, clip=\(uint\)(\d+), phase=\(string\)(\w+), step=\(int\)(\d+), "
                      r"total-steps=\(int\)(\d+).*elapsed=\(guint64\)(\d+)")
last = {}
for line in sys.stdin:
    m = PROGRESS.search(line)
    if m:
        last[(int(m[1]), m[2])] = (int(m[3]), int(m[4]), int(m[5]) / 1e9)
    if "wan-clip-done" in line:
        print(line.strip()[-300:])
    if "ERROR" in line or "rror:" in line:
        print(line.strip()[:400])
for (clip, phase), (step, total, t) in sorted(last.items(), key=lambda kv: (kv[0][0], kv[1][2])):
    print(f"clip {clip} {phase}: step {step}/{total} at {t:.2f} s")
