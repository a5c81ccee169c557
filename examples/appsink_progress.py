#!/usr/bin/env python3
"""Embedding wanvideosrc from Python (PyGObject): frames from an appsink,
progress from the bus.

    GST_PLUGIN_PATH=build/gst python3 examples/appsink_progress.py MODEL_PATH IMAGE "PROMPT"

Debian: python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def main():
    if len(sys.argv) < 4:
        sys.exit(f'usage: {sys.argv[0]} MODEL_PATH IMAGE "PROMPT"')
    Gst.init(None)
    pipeline = Gst.parse_launch(
        "wanvideosrc name=src ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink emit-signals=true sync=false")
    src = pipeline.get_by_name("src")
    src.set_property("model-path", sys.argv[1])
    src.set_property("image-location", sys.argv[2])
    src.set_property("prompt", sys.argv[3])

    frames = []

    def on_new_sample(sink):
        sample = sink.emit("pull-sample")
        buffer = sample.get_buffer()
        caps = sample.get_caps().get_structure(0)
        ok, info = buffer.map(Gst.MapFlags.READ)
        if ok:
            # info.data holds the RGB pixels (width * height * 3 bytes here).
            frames.append(bytes(info.data))
            buffer.unmap(info)
        print(f"\nframe {len(frames) - 1} at {buffer.pts / Gst.SECOND:.3f} s, "
              f"{caps.get_int('width')[1]}x{caps.get_int('height')[1]}")
        return Gst.FlowReturn.OK

    pipeline.get_by_name("sink").connect("new-sample", on_new_sample)

    loop = GLib.MainLoop()
    status = 0

    def on_message(bus, message):
        nonlocal status
        if message.type == Gst.MessageType.PROGRESS:
            _, code, text = message.parse_progress()
            print(f"[{code}] {text}")
        elif message.type == Gst.MessageType.ELEMENT:
            s = message.get_structure()
            if s.get_name() == "wan-progress":
                print(f"\rclip {s.get_value('clip')} {s.get_value('phase'):8s} "
                      f"{s.get_value('step')}/{s.get_value('total-steps')} "
                      f"{s.get_value('percent'):5.1f}% {s.get_value('elapsed') / Gst.SECOND:6.1f} s", end="")
            elif s.get_name() == "wan-clip":
                print(f"\nclip {s.get_value('clip')} with seed {s.get_value('seed')}")
        elif message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            print(f"\nerror: {error.message}\n{debug or ''}", file=sys.stderr)
            status = 1
            loop.quit()
        elif message.type == Gst.MessageType.EOS:
            print(f"\ndone: {len(frames)} frames")
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    # Loading happens in this call; a failure is already on the bus.
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        message = bus.pop_filtered(Gst.MessageType.ERROR)
        if message:
            on_message(bus, message)
        status = 1
    else:
        loop.run()
    pipeline.set_state(Gst.State.NULL)
    return status


if __name__ == "__main__":
    sys.exit(main())
