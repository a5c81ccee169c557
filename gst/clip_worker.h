// The generation thread of wanvideosrc: runs clip after clip through a loaded
// wan::Pipeline and hands the decoded frames to the streaming thread through a
// FrameQueue. No GStreamer here; the element turns the events into messages.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "gst/frame_queue.h"
#include "pipeline/clip_continuation.h"
#include "pipeline/pipeline.h"

namespace wan::gst {

class ClipWorker {
 public:
  // The request of clip `clip`, built from the element's current properties,
  // so changes made while playing apply from the next clip on.
  using RequestSource = std::function<Request(int clip)>;

  struct Events {
    std::function<void(const ClipInfo&)> on_clip_start;          // before the clip's generation
    std::function<void(int clip, const Progress&)> on_progress;  // every phase step
  };

  // clips = 0: generate until stopped. Each clip after the first continues
  // from the last frame of the one before (for image-conditioned tasks) and
  // leaves out its own first frame, which repeats that frame.
  ClipWorker(std::shared_ptr<Pipeline> pipeline, FrameQueue& queue, int64_t clips, RequestSource next_request,
             Events events);
  ~ClipWorker();

  ClipWorker(const ClipWorker&) = delete;
  ClipWorker& operator=(const ClipWorker&) = delete;

  void start();
  // Cancels the clip in flight, closes the queue and joins. Idempotent.
  void stop();

 private:
  void run();
  void run_clip(int clip);

  std::shared_ptr<Pipeline> pipeline_;
  FrameQueue& queue_;
  const int64_t clips_;
  RequestSource next_request_;
  Events events_;
  CancelToken cancel_;
  std::thread thread_;
  ClipContinuation continuation_;
};

}  // namespace wan::gst
