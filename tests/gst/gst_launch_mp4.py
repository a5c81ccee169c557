#!/usr/bin/env python3
"""The element in a gst-launch-1.0 command line, as a user runs it:
wanvideosrc ! videoconvert ! x264enc ! mp4mux ! filesink, configured from the
e2e-i2v fixture's case.json, then the file checked with gst-discoverer-1.0
(size, frame rate, codec, duration). Exit 77 (skip) when x264enc, mp4mux or the
tools are missing (Debian: gstreamer1.0-plugins-ugly, gstreamer1.0-plugins-base-apps).

Usage: gst_launch_mp4.py CASE_DIR [DEVICE]   (DEVICE: the element's device, default cpu)
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

NUM_FRAMES = 5  # few frames and steps: the pixels are checked elsewhere
STEPS = 2
SKIP = 77


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def element_properties(case_dir, args, device):
    props = {"model-path": os.path.join(case_dir, "ckpt"), "device": device}
    for key, value in args.items():
        if key in ("width", "height"):  # results, not settings
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        if key.endswith("-location") and text and not os.path.isabs(text):
            text = os.path.join(case_dir, text)
        props[key] = text
    props.update({"num-frames": str(NUM_FRAMES), "steps": str(STEPS)})
    # gst-launch joins its arguments and parses them again: quote every value.
    return ['%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"')) for k, v in props.items()]


def check_demuxed(mp4, args):
    run = subprocess.run(["gst-launch-1.0", "-v", "filesrc", f"location={mp4}", "!", "qtdemux", "!",
                          "fakesink", "silent=false"], capture_output=True, text=True, timeout=120)
    out = run.stdout
    caps = [line for line in out.splitlines() if "caps = video/x-h264" in line]
    frames = [line for line in out.splitlines() if "last-message = chain" in line]
    failures = []
    if run.returncode != 0:
        failures.append(f"demuxing failed ({run.returncode}): {run.stderr.strip()}")
    for want in ("width=(int)%d" % args["width"], "height=(int)%d" % args["height"], "framerate=(fraction)16/1"):
        if not any(want in c for c in caps):
            failures.append(f"no {want} in the stream caps {caps[:1]}")
    if len(frames) != NUM_FRAMES:
        failures.append(f"{len(frames)} H.264 frames in the file, expected {NUM_FRAMES}")
    if failures:
        sys.exit("the MP4 disagrees:\n  " + "\n  ".join(failures))
    print("ok: an MP4 of %d H.264 frames, %sx%s at 16 fps (demuxed: no H.264 decoder for gst-discoverer here)"
          % (NUM_FRAMES, args["width"], args["height"]))


def main():
    case_dir = os.path.abspath(sys.argv[1])
    device = sys.argv[2] if len(sys.argv) > 2 else "cpu"
    for tool in ("gst-launch-1.0", "gst-inspect-1.0", "gst-discoverer-1.0"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed")
    for element in ("x264enc", "mp4mux", "videoconvert"):
        if subprocess.run(["gst-inspect-1.0", "--exists", element]).returncode != 0:
            skip(f"the {element} element is not installed")

    with open(os.path.join(case_dir, "case.json")) as f:
        args = json.load(f)["args"]
    with tempfile.TemporaryDirectory() as out:
        mp4 = os.path.join(out, "clip.mp4")
        launch = ["gst-launch-1.0", "-q", "wanvideosrc", *element_properties(case_dir, args, device),
                  "!", "videoconvert", "!", "x264enc", "!", "mp4mux", "!", "filesink", f"location={mp4}"]
        print(" ".join(launch), flush=True)
        run = subprocess.run(launch, capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            sys.exit(f"gst-launch-1.0 failed ({run.returncode}):\n{run.stdout}{run.stderr}")
        report = subprocess.run(["gst-discoverer-1.0", "-v", mp4], capture_output=True, text=True,
                                timeout=120).stdout
        print(report)
        if "Missing plugins" in report and "decoder-video/x-h264" in report:
            # No H.264 decoder here (a staged GPU host): gst-discoverer sees no stream, so
            # read the demuxed stream itself: its caps and one buffer per frame.
            check_demuxed(mp4, args)
            return

    expected = {
        "Width": str(args["width"]),
        "Height": str(args["height"]),
        "Frame rate": "16/1",
        "video codec": "H.264 / AVC",
        "Duration": "0:00:00.%09d" % (NUM_FRAMES * 10**9 // 16),
    }
    failures = []
    for field, value in expected.items():
        found = re.findall(r"^\s*%s: (.*)$" % re.escape(field), report, re.MULTILINE)
        if value not in [f.strip() for f in found]:
            failures.append(f"{field}: expected {value}, found {found}")
    if failures:
        sys.exit("gst-discoverer-1.0 disagrees:\n  " + "\n  ".join(failures))
    print("ok: an MP4 of %s frames, %sx%s at 16 fps" % (NUM_FRAMES, args["width"], args["height"]))


if __name__ == "__main__":
    main()
