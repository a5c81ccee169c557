// LiveTimeline (gst/live_timeline.h), the running-time stamps of live mode's frames: frame 0
// at the time it is ready, then one frame duration apart (exact at 30000/1001 fps too);
// frames ready early keep their times; a frame ready after its time plus the latency is
// stamped with the time it is ready at, says how late it was, and the frames after it follow
// on from there; a drop of the latency moves the frames after it that much later, so that they
// play when they would have, but the moves never add up to more than the highest latency since
// the anchor minus the latency now (a latency swinging up and down costs one move, not one per
// swing); after a flush (restart) the next frame is stamped with the time it is ready at, the
// frame count going on, and the moves are counted afresh.
#include "gst/live_timeline.h"

#include <cstdint>

#include "tests/unit/check.h"

namespace {

constexpr uint64_t kSecond = 1000000000;

}  // namespace

int main() {
  using wan::gst::LiveTimeline;
  // 16 fps: 62.5 ms a frame.
  {
    LiveTimeline t(1 * kSecond, 16);
    const uint64_t start = 5 * kSecond, latency = kSecond / 2;
    t.set_latency(latency);
    LiveTimeline::Stamp s = t.next(start);
    EXPECT_MSG(s.pts == start && s.duration == 62500000 && s.late == 0, "frame 0 at the time it is ready");
    // Frames 1..11 all ready at once (a chunk): still one duration apart.
    for (uint64_t n = 1; n < 12; ++n) {
      s = t.next(start + 1000);
      EXPECT_MSG(s.pts == start + n * 62500000 && s.late == 0, "frame " + std::to_string(n));
    }
    // Frame 12 (due at start + 750 ms) ready at start + 1.2 s: within the latency, kept.
    s = t.next(start + 1200000000);
    EXPECT_MSG(s.pts == start + 750000000 && s.late == 0, "late but within the latency: its own time");
    // Frame 13 (due at start + 812.5 ms) ready at start + 2 s: 687.5 ms past its time + latency.
    s = t.next(start + 2 * kSecond);
    EXPECT_MSG(s.pts == start + 2 * kSecond, "stamped with the time it is ready at");
    EXPECT_MSG(s.late == 2 * kSecond - 812500000 - latency, "how late: " + std::to_string(s.late));
    // The frames after it follow on from the new time.
    s = t.next(start + 2 * kSecond);
    EXPECT_MSG(s.pts == start + 2 * kSecond + 62500000 && s.late == 0, "re-anchored");
    EXPECT(t.frames() == 15);
  }
  // The latency drops from 750 ms to 250 ms after frame 0: a sink played frame 0 at its time
  // plus 750 ms, and frame 1 comes then. Moved 500 ms later, it plays one frame after frame 0
  // and is in time; without the move it would be 437.5 ms late by construction.
  {
    LiveTimeline t(1 * kSecond, 16);
    const uint64_t start = 5 * kSecond, frame = 62500000;
    t.set_latency(750000000);
    EXPECT(t.next(start).pts == start);
    t.set_latency(250000000);
    EXPECT(t.latency() == 250000000);
    LiveTimeline::Stamp s = t.next(start + 750000000);
    EXPECT_MSG(s.late == 0, "late " + std::to_string(s.late));
    EXPECT_MSG(s.pts == start + frame + 500000000 && s.pts + 250000000 == start + 750000000 + frame,
               "frame 1 plays one frame after frame 0");
    // A rise moves nothing: the frames play later, still in time.
    t.set_latency(kSecond);
    s = t.next(start + 750000000 + frame);
    EXPECT_MSG(s.pts == start + 2 * frame + 500000000 && s.late == 0, "a rise keeps the times");
    // Before the first frame there is nothing to move.
    LiveTimeline u(1 * kSecond, 16);
    u.set_latency(kSecond);
    u.set_latency(kSecond / 4);
    EXPECT(u.next(start).pts == start);
  }
  // A flush at running time 2 s (the pipeline's running time started over): the stamps go on
  // from the time the next frame is ready at, not from the old anchor 100 s before.
  {
    LiveTimeline t(1 * kSecond, 16);
    t.set_latency(kSecond / 2);
    for (int n = 0; n < 20; ++n) t.next(100 * kSecond);
    t.restart();
    LiveTimeline::Stamp s = t.next(2 * kSecond);
    EXPECT_MSG(s.pts == 2 * kSecond && s.late == 0 && s.duration == 62500000, "re-anchored at the flush");
    s = t.next(2 * kSecond + 1000);
    EXPECT_MSG(s.pts == 2 * kSecond + 62500000 && s.late == 0, "the frames after it follow on");
    EXPECT(t.frames() == 22);
    // Restarting before the first frame changes nothing.
    LiveTimeline u(1 * kSecond, 16);
    u.restart();
    EXPECT(u.next(7 * kSecond).pts == 7 * kSecond && u.next(7 * kSecond).pts == 7 * kSecond + 62500000);
  }
  // The latency swings between 1 s and 250 ms ten times while the frames are made: they move
  // 750 ms once, at the first drop, and the rest follow on from there, not 7.5 s later.
  {
    LiveTimeline t(1 * kSecond, 16);
    const uint64_t start = 5 * kSecond, frame = 62500000;
    t.set_latency(kSecond);
    EXPECT(t.next(start).pts == start);
    uint64_t n = 1;
    for (int swing = 0; swing < 10; ++swing) {
      t.set_latency(kSecond / 4);
      LiveTimeline::Stamp s = t.next(start);
      EXPECT_MSG(s.pts == start + n * frame + 750000000 && s.late == 0,
                 "after drop " + std::to_string(swing) + ": " + std::to_string(s.pts));
      ++n;
      t.set_latency(kSecond);
      s = t.next(start);
      EXPECT_MSG(s.pts == start + n * frame + 750000000, "after rise " + std::to_string(swing));
      ++n;
    }
    // A drop in two steps moves as far as one: to 500 ms, then to 250 ms (already moved).
    LiveTimeline u(1 * kSecond, 16);
    u.set_latency(kSecond);
    u.next(start);
    u.set_latency(kSecond / 2);
    EXPECT(u.next(start).pts == start + frame + kSecond / 2);
    u.set_latency(kSecond / 4);
    EXPECT(u.next(start).pts == start + 2 * frame + 750000000);
    u.set_latency(kSecond / 2);
    u.set_latency(kSecond / 4);
    EXPECT_MSG(u.next(start).pts == start + 3 * frame + 750000000, "a swing below the peak moves nothing more");
    // A new peak makes room for one more move: down from 2 s to 250 ms is 1 s past the old one.
    u.set_latency(2 * kSecond);
    u.set_latency(kSecond / 4);
    EXPECT(u.next(start).pts == start + 4 * frame + 1750000000);
  }
  // A latency set before the first frame moves nothing, and does not count as the peak: frame
  // 0 anchors on the latency it is made under (250 ms); a drop to 100 ms then moves 150 ms.
  {
    LiveTimeline t(1 * kSecond, 16);
    const uint64_t start = 5 * kSecond, frame = 62500000;
    t.set_latency(3 * kSecond);
    t.set_latency(kSecond / 4);
    EXPECT(t.next(start).pts == start);
    EXPECT(t.next(start).pts == start + frame);
    t.set_latency(kSecond / 10);
    EXPECT_MSG(t.next(start).pts == start + 2 * frame + 150000000, "moved from 250 ms, not from 3 s");
  }
  // A flush starts the account over: before it the latency fell from 1 s to 250 ms (moved
  // 750 ms) and rose back; after it the next frame is stamped with its own time, and the next
  // drop to 250 ms moves the frames 750 ms again, as a first drop does.
  {
    LiveTimeline t(1 * kSecond, 16);
    const uint64_t frame = 62500000;
    t.set_latency(kSecond);
    t.next(10 * kSecond);
    t.set_latency(kSecond / 4);
    EXPECT(t.next(10 * kSecond).pts == 10 * kSecond + frame + 750000000);
    t.set_latency(kSecond);
    t.restart();
    EXPECT_MSG(t.next(2 * kSecond).pts == 2 * kSecond, "re-anchored: no move carried over");
    t.set_latency(kSecond / 4);
    EXPECT_MSG(t.next(2 * kSecond).pts == 2 * kSecond + frame + 750000000, "a drop after the flush moves again");
    // So does a late frame: stamped with its own time, the account starts over from it.
    t.set_latency(kSecond);
    const LiveTimeline::Stamp late = t.next(20 * kSecond);
    EXPECT(late.late > 0 && late.pts == 20 * kSecond);
    t.set_latency(kSecond / 4);
    EXPECT(t.next(20 * kSecond).pts == 20 * kSecond + frame + 750000000);
  }
  // 30000/1001 fps: durations alternate so that frame n is at n * 1001 / 30 ms exactly.
  {
    LiveTimeline t(1001 * kSecond, 30000);
    t.set_latency(kSecond);
    uint64_t total = 0;
    for (uint64_t n = 0; n < 30000; ++n) {
      const LiveTimeline::Stamp s = t.next(0);
      EXPECT_MSG(s.pts == total, "frame " + std::to_string(n));
      total += s.duration;
      if (s.pts != total - s.duration) break;
    }
    EXPECT_MSG(total == 1001 * kSecond, "30000 frames last 1001 s");
  }
  return wan::test::check_exit("test-live-timeline");
}
