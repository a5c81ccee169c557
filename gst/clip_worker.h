// The generation thread of wanvideosrc: runs clip after clip through a loaded
// wan::Pipeline and hands the decoded frames to the streaming thread through a
// FrameQueue. No GStreamer here; the element turns the events into messages.
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "gst/frame_queue.h"
#include "gst/worker_thread.h"
#include "pipeline/clip_continuation.h"
#include "pipeline/ordered_segments.h"
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
    // Renders full-size previews when set (preview-model), else the linear map.
    std::shared_ptr<const PreviewDecoder> preview_decoder;
  };

  // clips = 0: generate until stopped. Each clip after the first continues
  // from the last frame of the one before (for image-conditioned tasks) and
  // leaves out its own first frame, which repeats that frame.
  ClipWorker(std::shared_ptr<Pipeline> pipeline, std::shared_ptr<FrameQueue> queue, int64_t clips,
             RequestSource next_request, Events events);
  // A video from keyframes (pipeline/keyframe_segments.h): `segments` segments, one worker
  // per pipeline, pushed in order, each join frame once. `next_request(k)` is segment k's
  // request; the events name the segment as the clip (clip messages come as segments start,
  // which on several pipelines is not always in order; the queued ClipStart always is).
  ClipWorker(std::vector<std::shared_ptr<Pipeline>> pipelines, std::shared_ptr<FrameQueue> queue, int segments,
             RequestSource next_request, Events events);
  ~ClipWorker();

  ClipWorker(const ClipWorker&) = delete;
  ClipWorker& operator=(const ClipWorker&) = delete;

  void start();
  // Cancels the clip in flight, closes the queue and joins. Idempotent. Called on a
  // generation thread (its own, or one making a keyframe segment: an application stopping
  // the element from a bus sync handler of a wan-progress message), it cannot join: the
  // thread is let go, emits nothing more and ends at the next cancellation check, keeping
  // what it uses alive until then.
  void stop();

 private:
  // What the generation thread uses, shared with it so that it may outlive the worker.
  struct Core {
    std::shared_ptr<Pipeline> pipeline;
    std::shared_ptr<FrameQueue> queue;
    int64_t clips = 1;
    std::vector<std::shared_ptr<Pipeline>> segment_pipelines;  // keyframes: one per worker
    RequestSource next_request;
    Events events;
    CancelToken cancel;
    ClipContinuation continuation;
    std::mutex ordered_mutex;
    OrderedSegments* ordered = nullptr;  // keyframes: while run_segments() runs
    void run();
    void run_clip(int64_t clip);
    void run_segments();
    void cancel_all();
    GenerationCallbacks callbacks_for(int64_t clip);
    void push_clip_start(const ClipInfo& info);
    void push_frames(const at::Tensor& frames);
  };
  std::shared_ptr<Core> core_;
  WorkerThread thread_;
};

}  // namespace wan::gst
