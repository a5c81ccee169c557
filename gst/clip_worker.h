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
    std::function<void(const ClipInfo&)> on_clip_start;                   // before the clip's generation
    std::function<void(int clip, const Progress&)> on_progress;           // every phase step
    std::function<void(int clip, const GenerationResult&)> on_clip_done;  // after its last frame
    // Asked at every denoising step: 0 = no preview (none is computed), else its scale.
    std::function<int()> preview_scale;
    std::function<void(int clip, const Preview&)> on_preview;
  };

  // clips = 0: generate until stopped. Each clip after the first continues
  // from the last frame of the one before (for image-conditioned tasks) and
  // leaves out its own first frame, which repeats that frame.
  ClipWorker(std::shared_ptr<Pipeline> pipeline, std::shared_ptr<FrameQueue> queue, int64_t clips,
             RequestSource next_request, Events events);
  ~ClipWorker();

  ClipWorker(const ClipWorker&) = delete;
  ClipWorker& operator=(const ClipWorker&) = delete;

  void start();
  // Cancels the clip in flight, closes the queue and joins. Idempotent. Called on the
  // generation thread itself (an application stopping the element from a bus sync handler
  // of a wan-progress message), it cannot join: the thread is let go, emits nothing more and
  // ends at the next cancellation check, keeping what it uses alive until then.
  void stop();

 private:
  // What the generation thread uses, shared with it so that it may outlive the worker.
  struct Core {
    std::shared_ptr<Pipeline> pipeline;
    std::shared_ptr<FrameQueue> queue;
    int64_t clips = 1;
    RequestSource next_request;
    Events events;
    CancelToken cancel;
    ClipContinuation continuation;
    void run();
    void run_clip(int64_t clip);
  };
  std::shared_ptr<Core> core_;
  std::thread thread_;
};

}  // namespace wan::gst
