// The timestamps of live mode's frames: running time on the pipeline clock, as a capture
// source stamps them. Frame 0 is stamped with the running time it is ready at, frame n
// n frame durations later. A frame that is ready only after its own time plus the latency
// would reach the sinks too late: it is stamped with the running time
// it is ready at instead, the frames after it following on, and its lateness is returned
// so that the element says so on the bus. After a flush the next frame is stamped with the
// running time it is ready at, as frame 0 is. No GStreamer here; times in nanoseconds.
//
// The latency is the one the pipeline configured (its LATENCY event). A drop moves the
// frames after it later (set_latency); moves never go back, so a latency swinging up and
// down would push the stamps ever further from the clock. The bound: the moves since the
// anchor add up to at most the highest latency since then minus the latency now. The frames
// then play no earlier than that peak had them play, all a drop needs, and a rise and fall
// back costs one move however often it repeats. An anchor (the first frame, a flush, a late
// frame) stamps from the clock again and starts the account over.
#pragma once
#include <algorithm>
#include <cstdint>

namespace wan::gst {

class LiveTimeline {
 public:
  struct Stamp {
    uint64_t pts = 0, duration = 0;
    uint64_t late = 0;  // how far past its deadline the frame was ready (0: in time)
  };

  // frame_duration_num / frame_duration_den nanoseconds per frame (fps_d * 1e9 / fps_n).
  LiveTimeline(uint64_t frame_duration_num, uint64_t frame_duration_den)
      : num_(frame_duration_num), den_(frame_duration_den) {}

  // The latency configured. Sinks play a frame at its time plus the latency: when it drops,
  // the frames from the next one on are stamped that much later, so that they play when
  // they would have (a sink holding a frame until its time plus the old latency delays the
  // next one past its time plus the new latency: late by construction, not by generation),
  // within the bound above. Before the first frame nothing moves: frame 0 anchors on it.
  void set_latency(uint64_t latency) {
    if (frames_ > 0 && latency < latency_) {
      const uint64_t room = peak_ - latency > moved_ ? peak_ - latency - moved_ : 0;
      const uint64_t move = std::min(latency_ - latency, room);
      origin_ += move;
      moved_ += move;
    }
    latency_ = latency;
    peak_ = std::max(peak_, latency);
  }
  uint64_t latency() const { return latency_; }

  // A flush: the running time the stamps counted from no longer holds (the pipeline's may
  // have started over); the next frame starts the count again from the time it is ready at.
  void restart() { restart_ = frames_ > 0; }

  // The stamp of the next frame, ready at running time `now`.
  Stamp next(uint64_t now) {
    Stamp s;
    if (frames_ == 0 || restart_) {
      origin_ = now;
      first_ = frames_;
      restart_ = false;
      start_account();
    }
    const uint64_t n = frames_ - first_;  // frames since the anchor
    s.pts = origin_ + offset(n);
    if (s.pts + latency_ < now) {
      s.late = now - s.pts - latency_;
      origin_ += now - s.pts;  // re-anchored: this frame is stamped `now`
      s.pts = now;
      start_account();
    }
    s.duration = offset(n + 1) - offset(n);
    ++frames_;
    return s;
  }
  uint64_t frames() const { return frames_; }

 private:
  uint64_t offset(uint64_t n) const { return static_cast<uint64_t>((unsigned __int128)n * num_ / den_); }
  // An anchor: stamps from the clock again, no move made yet, the latency now the highest.
  void start_account() {
    peak_ = latency_;
    moved_ = 0;
  }
  uint64_t num_, den_;
  uint64_t latency_ = 0;
  uint64_t origin_ = 0;
  uint64_t frames_ = 0;
  uint64_t first_ = 0;  // the frame stamped `origin_`
  bool restart_ = false;
  uint64_t peak_ = 0;   // the highest latency since the anchor
  uint64_t moved_ = 0;  // how far drops moved origin_ since the anchor
};

}  // namespace wan::gst
