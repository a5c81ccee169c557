// The generation thread of wanvideosrc in live mode: runs a wan::LiveStream chunk after
// chunk until stopped and hands the frames to the streaming thread through a FrameQueue,
// as ClipWorker does for clips. No GStreamer here.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "gst/frame_queue.h"
#include "gst/worker_thread.h"
#include "pipeline/live_stream.h"

namespace wan::gst {

class LiveWorker {
 public:
  struct Events {
    // Read before every chunk: the prompt it is generated with (the element's property,
    // so a change made while playing applies from the next chunk).
    std::function<std::string()> prompt;
    // After a chunk's frames are queued, before the next chunk's prompt is read.
    std::function<void(const LiveChunkInfo&)> on_chunk_done;
  };

  LiveWorker(std::shared_ptr<LiveStream> stream, std::shared_ptr<FrameQueue> queue, Events events);
  ~LiveWorker();

  LiveWorker(const LiveWorker&) = delete;
  LiveWorker& operator=(const LiveWorker&) = delete;

  void start();
  // Cancels the chunk in flight (between DiT blocks), closes the queue and joins;
  // idempotent. From the generation thread itself it lets the thread go (see ClipWorker).
  void stop();

 private:
  struct Core {
    std::shared_ptr<LiveStream> stream;
    std::shared_ptr<FrameQueue> queue;
    Events events;
    CancelToken cancel;
    void run();
    void run_chunk(std::string& last_prompt);
  };
  std::shared_ptr<Core> core_;
  WorkerThread thread_;
};

}  // namespace wan::gst
