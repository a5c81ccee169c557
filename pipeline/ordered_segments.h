// Segments of one video made on several workers (one pipeline per device) and handed on
// strictly in order. Segments go to workers as they free up; the frames of the segment
// being handed on stream through as they come, those of later segments wait in host
// memory until every segment before them is out.
//
// The bound: a worker starts segment s only while s < (the segment being handed on) +
// workers, so at most workers - 1 later segments wait, each with at most its own frames:
// (workers - 1) * frames per segment frames in host memory (none with one worker, which
// makes the segments one after another). The consumer of the segment being handed on may
// hold its frames too (the element's queue never makes a decoding segment wait): up to
// workers * frames per segment in all while downstream is slow.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include <ATen/core/Tensor.h>

#include "pipeline/pipeline.h"

namespace wan {

class OrderedSegments {
 public:
  // Takes a piece of the segment's frames (uint8 [n, H, W, 3] on the CPU), in order.
  using Sink = std::function<void(const at::Tensor& frames)>;
  // Makes segment `segment` on worker `worker` (0..workers-1, never two segments at once on
  // one worker), passing its frames to `sink` in order. Called on the worker's own thread;
  // throws Cancelled once `cancel` is set.
  using Produce = std::function<void(int worker, int segment, const Sink& sink, const CancelToken& cancel)>;
  // Every segment's frames, segment after segment, on run()'s thread.
  using Emit = std::function<void(int segment, const at::Tensor& frames)>;

  OrderedSegments(int workers, int segments);
  OrderedSegments(const OrderedSegments&) = delete;
  OrderedSegments& operator=(const OrderedSegments&) = delete;

  // Runs every segment and returns once the last frame is emitted. The first failure of a
  // producer or of `emit` cancels the others and is rethrown here once all workers have
  // stopped; after cancel() it throws Cancelled.
  void run(const Produce& produce, const Emit& emit);

  // From any thread: stops the producers at their next check and run() at its next wait.
  void cancel();

  int workers() const { return workers_; }
  int segments() const { return segments_; }

  // Segments finished but not yet handed on, at most (for the tests of the bound).
  int most_segments_waiting() const;

 private:
  struct Pending {
    std::deque<at::Tensor> pieces;
    bool done = false;
  };
  void work(int worker, const Produce& produce);
  void fail(std::exception_ptr error);

  const int workers_, segments_;
  CancelToken cancel_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Pending> pending_;  // by segment
  int next_to_start_ = 0;
  int emitting_ = 0;  // the segment being handed on
  int most_waiting_ = 0;
  std::exception_ptr error_;
};

}  // namespace wan
