#!/usr/bin/env python3
"""Runs one live-mode pipeline, `gst-launch-1.0 -e -m -v wanvideosrc live=true ... ! fakesink`,
for SECONDS after its first frame, stops it with SIGINT (EOS through -e), and prints what a
live stream shows a user: the time from PLAYING to the first frame, the frames per second
reaching the sink after it, each chunk's generation time (wan-live-chunk), every wan-live-behind,
and the GPU memory in use sampled every few seconds (first / max / last: flat for an endless
stream). Human lines first, then one JSON line.

usage: live_bench.py CKPT_DIR WxH SECONDS [PROMPT]
environment: WAN_BENCH_DEVICE (cuda:0), WAN_BENCH_SYNC (true: the sink plays in real time as a
live pipeline does; false: as fast as generation goes), WAN_BENCH_LOAD_TIMEOUT (seconds to the
first frame, 900), WAN_BENCH_GPU (nvidia-smi's index, 0), WAN_BENCH_PROPS (more wanvideosrc
properties, space-separated name=value: "live-decoder=taew2_1 preview-model=CKPT/taew2_1.pth")
"""
import json, os, re, shutil, signal, statistics, subprocess, sys, threading, time

CHUNK = re.compile(r"wan-live-chunk, chunk=\(guint64\)(\d+), first-frame=\(guint64\)(\d+), frames=\(int\)(\d+)"
                   r".*generate-time=\(guint64\)(\d+), decode-time=\(guint64\)(\d+), encode-time=\(guint64\)(\d+)")
BEHIND = re.compile(r"wan-live-behind, frame=\(guint64\)(\d+), late=\(guint64\)(\d+), latency=\(guint64\)(\d+)")
BUFFER = re.compile(r"last-message = chain")


class GpuMemory(threading.Thread):
    """Samples nvidia-smi's memory.used (MiB) every `period` seconds until stopped."""

    def __init__(self, gpu, period=3.0):
        super().__init__(daemon=True)
        self.gpu, self.period, self.samples, self.done = gpu, period, [], threading.Event()

    def run(self):
        if not shutil.which("nvidia-smi"):
            return
        while not self.done.is_set():
            out = subprocess.run(["nvidia-smi", f"--id={self.gpu}", "--query-gpu=memory.used",
                                  "--format=csv,noheader,nounits"], capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip():
                self.samples.append(int(out.stdout.split()[0]))
            self.done.wait(self.period)


def stats(values):
    if not values:
        return None
    return dict(n=len(values), min=round(min(values), 3), median=round(statistics.median(values), 3),
                max=round(max(values), 3))


def main():
    ckpt, size, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    prompt = sys.argv[4] if len(sys.argv) > 4 else "a red fox runs through a snowy forest, cinematic"
    width, height = size.split("x")
    device = os.environ.get("WAN_BENCH_DEVICE", "cuda:0")
    sync = os.environ.get("WAN_BENCH_SYNC", "true")
    load_timeout = float(os.environ.get("WAN_BENCH_LOAD_TIMEOUT", "900"))
    cmd = ["gst-launch-1.0", "-e", "-m", "-v", "wanvideosrc", "live=true", f"model-path={ckpt}", f"device={device}",
           f"prompt={prompt}", "seed=1", *os.environ.get("WAN_BENCH_PROPS", "").split(), "!", f"video/x-raw,width={width},height={height}", "!", "fakesink",
           "name=sink", "silent=false", f"sync={sync}"]
    if shutil.which("stdbuf"):
        cmd = ["stdbuf", "-oL"] + cmd
    gpu = GpuMemory(os.environ.get("WAN_BENCH_GPU", "0"))
    gpu.start()
    t_start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                            errors="replace")
    t_playing = t_first = t_last = None
    frames, chunks, behind, errors = 0, [], [], []
    stopping = False

    def stop(reason):
        nonlocal stopping
        if not stopping:
            stopping = True
            proc.send_signal(signal.SIGINT)  # -e: EOS, then the pipeline shuts down
            threading.Timer(60, lambda: proc.poll() is None and proc.kill()).start()
            print(f"   stopping: {reason}", flush=True)

    # A stream that never reaches its first frame (or stops sending) is ended by the watchdog.
    def watchdog():
        while proc.poll() is None:
            now = time.monotonic()
            if t_first is None and now - t_start > load_timeout:
                stop(f"no frame within {load_timeout:.0f} s")
            elif t_first is not None and now - t_first > seconds:
                stop(f"{seconds:.0f} s after the first frame")
            time.sleep(0.2)

    threading.Thread(target=watchdog, daemon=True).start()
    for line in proc.stdout:
        now = time.monotonic()
        if "Setting pipeline to PLAYING" in line and t_playing is None:
            t_playing = now
        elif BUFFER.search(line):
            if stopping:
                continue  # frames after the stop was asked do not count
            frames += 1
            t_first = t_first or now
            t_last = now
        elif m := CHUNK.search(line):
            if stopping:
                continue
            index, first, n, gen, dec, enc = (int(g) for g in m.groups())
            chunks.append(dict(index=index, frames=n, generate_s=gen / 1e9, decode_s=dec / 1e9, encode_s=enc / 1e9,
                               at=now))
        elif m := BEHIND.search(line):
            behind.append(dict(frame=int(m[1]), late_s=int(m[2]) / 1e9, latency_s=int(m[3]) / 1e9))
        elif "ERROR" in line or "rror:" in line:
            errors.append(line.strip()[:400])
    proc.wait()
    gpu.done.set()
    gpu.join()

    # Chunk 0 carries the warm-up and the prompt's encode: the sustained figures leave it out.
    steady = [c for c in chunks if c["index"] > 0]
    chunk_s = [c["generate_s"] + c["decode_s"] for c in steady]
    gaps = [b["at"] - a["at"] for a, b in zip(chunks, chunks[1:])]
    result = dict(
        size=size, device=device, sync=sync, props=os.environ.get("WAN_BENCH_PROPS", ""), seconds=seconds, exit_code=proc.returncode,
        load_and_start_s=round(t_playing - t_start, 3) if t_playing else None,
        first_frame_after_playing_s=round(t_first - t_playing, 3) if t_first and t_playing else None,
        frames=frames,
        fps=round((frames - 1) / (t_last - t_first), 3) if frames > 1 and t_last > t_first else None,
        chunks=len(chunks),
        generation_fps=round(sum(c["frames"] for c in steady) / sum(chunk_s), 3) if chunk_s else None,
        chunk0_s=round(chunks[0]["generate_s"] + chunks[0]["decode_s"], 3) if chunks else None,
        chunk_s=stats(chunk_s), generate_s=stats([c["generate_s"] for c in steady]),
        decode_s=stats([c["decode_s"] for c in steady]), chunk_interval_s=stats(gaps[1:]),
        behind=len(behind), behind_max_late_s=round(max(b["late_s"] for b in behind), 3) if behind else None,
        gpu_mem_mib=dict(first=gpu.samples[0], max=max(gpu.samples), last=gpu.samples[-1], n=len(gpu.samples))
        if gpu.samples else None,
        errors=errors[:5])
    r = result
    print(f"   {size} on {device}, sync={sync}: first frame {r['first_frame_after_playing_s']} s after PLAYING "
          f"(load and start {r['load_and_start_s']} s)")
    print(f"   {frames} frames, {r['fps']} fps at the sink; {len(chunks)} chunks, generation {r['generation_fps']} fps "
          f"after chunk 0 ({r['chunk0_s']} s)")
    for what in ("chunk_s", "generate_s", "decode_s", "chunk_interval_s"):
        if r[what]:
            print(f"   {what}: min {r[what]['min']} median {r[what]['median']} max {r[what]['max']} (n {r[what]['n']})")
    for b in behind[:5]:
        print(f"   behind: frame {b['frame']} late {b['late_s']:.3f} s (latency {b['latency_s']:.3f} s)")
    if len(behind) > 5:
        print(f"   ... {len(behind) - 5} more wan-live-behind")
    if r["gpu_mem_mib"]:
        print(f"   GPU memory MiB: first {r['gpu_mem_mib']['first']} max {r['gpu_mem_mib']['max']} "
              f"last {r['gpu_mem_mib']['last']} ({r['gpu_mem_mib']['n']} samples)")
    for e in errors[:5]:
        print(f"   {e}")
    print(json.dumps(result))
    return 0 if frames and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
