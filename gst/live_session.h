// wanvideosrc's live mode (live=true) apart from the property plumbing: the causal
// checkpoint's LiveStream and its generation thread, the frames' running-time stamps on the
// pipeline clock, the latency the LATENCY query answers (one chunk's generation time,
// measured; a chunk's play time until the first is measured), the latency the pipeline
// configures (the LATENCY event: what the stamps go by) and the bus messages:
// `wan-live-chunk` after every chunk, `wan-live-behind` plus a QoS message when a frame is
// ready too late for its time.
#pragma once
#include <gst/gst.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

#include "gst/frame_queue.h"
#include "gst/live_timeline.h"
#include "gst/live_worker.h"
#include "pipeline/live_stream.h"

namespace wan::gst {

// Throws ElementError (LIBRARY SETTINGS) when the checkpoint at `model_path` holds the other
// kind of DiT than the mode needs, naming the kind found; returns when it cannot tell (the
// loader then says what is missing).
void check_checkpoint_kind(const std::string& model_path, bool live);

class LiveSession {
 public:
  // Loads the stream (wan::Error on failure). `element` receives the messages.
  LiveSession(GstElement* element, const LiveOptions& options, const std::function<void(const Progress&)>& on_progress);
  ~LiveSession();

  // Frames waiting for downstream before the next chunk is held back: one chunk's.
  size_t queue_frames() const;
  LiveStream& stream() { return *stream_; }

  // Makes the stream ready to play at this size and prompt: its one-off costs paid
  // (LiveStream::warm_up) and its first chunk generated ahead (prepare_first_chunk), so its
  // frames leave as soon as the pipeline plays. `wait`: here, on the caller's thread (start():
  // READY -> PAUSED waits for it as for the model's load; errors are thrown); otherwise on a
  // thread of its own (a size negotiated other than the one prepared; start() rethrows its
  // error). A size and prompt prepared, or being prepared, already return at once; after
  // cancel_warm_up() nothing is prepared any more (the stream starts cold). `wait` blocks the
  // state change for the warm-up and a chunk, as the models' load does: it cannot be cut short.
  void prepare(int width, int height, const std::string& prompt, bool wait);
  // Stops a preparation in flight (the stream starts cold); returns at once.
  void cancel_warm_up() {
    warm_stopped_ = true;
    warm_cancel_.cancel();
  }

  // The frame rate of the caps (negotiated, or to be) before start(): the latency answered
  // before the first chunk is measured is a chunk's play time at it.
  void set_frame_rate(int fps_n, int fps_d);
  // Starts the generation thread at the negotiated size and frame rate, after the warm-up;
  // `prompt` is read before every chunk.
  void start(std::shared_ptr<FrameQueue> queue, std::function<std::string()> prompt, int width, int height, int fps_n,
             int fps_d);
  void stop();
  // Read by queries on other threads while the streaming thread starts the worker.
  bool started() const { return started_.load(); }

  // After a flush (unlock_stop): the next frame is stamped from the running time it is ready
  // at, not from the old anchor.
  void restart_timeline();
  // PTS and duration of the next frame (running time on the element's clock).
  void stamp(GstBuffer* buffer);
  // live = TRUE, min = a chunk's generation time, max = what the queue holds. Answering
  // changes no stamp: a query need not be followed by the latency it learns being configured.
  void answer_latency(GstQuery* query);
  // The latency the pipeline configured (GST_EVENT_LATENCY): the frames are stamped for it
  // from now on (LiveTimeline::set_latency), and from the first one if it comes before.
  void configure_latency(GstClockTime latency);

 private:
  void chunk_done(const LiveChunkInfo& info);
  void finish_warm_up();
  GstClockTime min_latency_locked() const;
  // What the frames are stamped for: the latency configured, never less than the minimum
  // answered; the minimum answered (or a chunk's play time) until one is configured.
  GstClockTime timeline_latency_locked() const;

  GstElement* element_;
  std::shared_ptr<LiveStream> stream_;
  std::unique_ptr<LiveWorker> worker_;
  std::atomic<bool> started_{false};
  std::thread warm_thread_;
  CancelToken warm_cancel_;
  std::atomic<bool> warm_stopped_{false};  // cancel_warm_up() was called
  std::mutex warm_mutex_;                  // starts and joins warm_thread_
  // What prepare() was last asked for: width, height, prompt.
  std::optional<std::tuple<int, int, std::string>> prepared_for_;
  std::exception_ptr warm_error_;  // a failed warm-up's error, for start()
  mutable std::mutex mutex_;       // what follows
  int fps_n_ = 16, fps_d_ = 1;
  std::optional<LiveTimeline> timeline_;
  std::deque<GstClockTime> chunk_times_;           // the last chunks' generation times
  GstClockTime reported_ = GST_CLOCK_TIME_NONE;    // min latency last answered
  GstClockTime configured_ = GST_CLOCK_TIME_NONE;  // latency of the last LATENCY event
};

}  // namespace wan::gst
