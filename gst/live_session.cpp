#include "gst/live_session.h"

#include <algorithm>
#include <utility>

#include <c10/core/InferenceMode.h>

#include "gst/element_error.h"
#include "models/common/error.h"
#include "models/dit/causal_checkpoint.h"
#include "pipeline/checkpoint_folder.h"

namespace wan::gst {
namespace {

// Chunks whose generation times make the latency: a slow first chunk (prompt encoding,
// first kernels) stops counting once this many have followed it.
constexpr size_t kTimedChunks = 8;

GstClockTime seconds(double s) { return GstClockTime(std::max(0.0, s) * GST_SECOND); }

}  // namespace

void check_checkpoint_kind(const std::string& model_path, bool live) {
  DiTKind kind;
  std::string dit;
  try {
    dit = locate_checkpoint_files(model_path).dit;
    kind = dit_checkpoint_kind(dit);
  } catch (const Error&) {
    return;
  }
  if (live && kind != DiTKind::Causal)
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                       std::string("live=true needs a causal (chunk-wise, Self-Forcing) checkpoint such as "
                                   "self_forcing_dmd.pt, but ") +
                           dit + " holds a " + to_string(kind) + " Wan2.1 DiT: set live=false for clips.");
  if (!live && kind == DiTKind::Causal)
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                       dit + " holds a " + to_string(kind) +
                           " (chunk-wise, Self-Forcing) Wan2.1 DiT, which streams in live mode only: set live=true.");
}

LiveSession::LiveSession(GstElement* element, const LiveOptions& options,
                         const std::function<void(const Progress&)>& on_progress)
    : element_(element), stream_(std::make_shared<LiveStream>(options, on_progress)) {}

LiveSession::~LiveSession() { stop(); }

size_t LiveSession::queue_frames() const { return size_t(stream_->chunk_output_frames(1)); }

void LiveSession::prepare(int width, int height, const std::string& prompt, bool wait) {
  std::lock_guard<std::mutex> lock(warm_mutex_);
  const auto asked = std::make_tuple(width, height, prompt);
  if (prepared_for_ == asked) return;
  // A stop or a flush ends preparing for good (a later one must not undo that).
  if (warm_stopped_) return;
  if (warm_thread_.joinable()) {  // preparing for another size or prompt: of no use now
    warm_cancel_.cancel();
    warm_thread_.join();
    warm_cancel_.reset();
    // A stop between the cancel and the reset: its cancel was undone.
    if (warm_stopped_) {
      warm_cancel_.cancel();
      return;
    }
  }
  warm_error_ = nullptr;
  prepared_for_ = asked;
  auto work = [this, width, height, prompt] {
    c10::InferenceMode inference_mode;
    stream_->set_size(width, height);
    stream_->set_prompt(prompt);
    stream_->warm_up(warm_cancel_);
    stream_->prepare_first_chunk(warm_cancel_);
  };
  if (wait) {
    try {
      work();
    } catch (...) {
      prepared_for_.reset();
      throw;
    }
    return;
  }
  warm_thread_ = std::thread([this, work] {
    try {
      work();
    } catch (const Cancelled&) {
    } catch (...) {
      if (!warm_cancel_.cancelled()) warm_error_ = std::current_exception();
    }
  });
}

void LiveSession::finish_warm_up() {
  std::lock_guard<std::mutex> lock(warm_mutex_);
  if (warm_thread_.joinable()) warm_thread_.join();
}

void LiveSession::set_frame_rate(int fps_n, int fps_d) {
  if (fps_n <= 0 || fps_d <= 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  fps_n_ = fps_n;
  fps_d_ = fps_d;
}

void LiveSession::start(std::shared_ptr<FrameQueue> queue, std::function<std::string()> prompt, int width, int height,
                        int fps_n, int fps_d) {
  finish_warm_up();
  // What failed there (a device out of memory, say) would fail the first chunk too.
  if (warm_error_) std::rethrow_exception(std::exchange(warm_error_, nullptr));
  stream_->set_size(width, height);
  if (!stream_->first_chunk_prepared()) stream_->reset();  // a preparation cut short
  set_frame_rate(fps_n, fps_d);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    timeline_.emplace(guint64(fps_d) * GST_SECOND, guint64(fps_n));
    chunk_times_.clear();
    timeline_->set_latency(timeline_latency_locked());
  }
  LiveWorker::Events events;
  events.prompt = std::move(prompt);
  events.on_chunk_done = [this](const LiveChunkInfo& info) { chunk_done(info); };
  worker_ = std::make_unique<LiveWorker>(stream_, std::move(queue), std::move(events));
  worker_->start();
  started_ = true;
}

void LiveSession::stop() {
  cancel_warm_up();
  finish_warm_up();
  if (worker_) worker_->stop();
}

GstClockTime LiveSession::min_latency_locked() const {
  if (chunk_times_.empty())  // a chunk's play time: what a stream that keeps up takes at most
    return gst_util_uint64_scale(guint64(stream_->chunk_output_frames(1)), guint64(fps_d_) * GST_SECOND,
                                 guint64(fps_n_));
  return *std::max_element(chunk_times_.begin(), chunk_times_.end());
}

void LiveSession::chunk_done(const LiveChunkInfo& info) {
  const GstClockTime generation = seconds(info.generate_s + info.decode_s);
  bool changed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Chunk 0 carries the warm-up (first kernels, allocator): counted, it would raise the
    // pipeline's latency for good after one slow chunk. A new prompt's encode is not counted
    // either (encode_s): once per prompt, not per chunk.
    if (info.index > 0) chunk_times_.push_back(generation);
    if (chunk_times_.size() > kTimedChunks) chunk_times_.pop_front();
    const GstClockTime now = min_latency_locked();
    // Asked again when it moved by a tenth: the pipeline redistributes the latency.
    changed =
        GST_CLOCK_TIME_IS_VALID(reported_) && (now > reported_ + reported_ / 10 || now < reported_ - reported_ / 10);
  }
  // A bus sync handler may stop the element, and end this session, while a message is
  // posted: nothing of the session is used after the first post.
  GstElement* element = element_;
  GstStructure* s = gst_structure_new(
      "wan-live-chunk", "chunk", G_TYPE_UINT64, guint64(info.index), "first-frame", G_TYPE_UINT64,
      guint64(info.first_frame), "frames", G_TYPE_INT, int(info.frames), "prompt", G_TYPE_STRING, info.prompt.c_str(),
      "generate-time", G_TYPE_UINT64, guint64(seconds(info.generate_s)), "decode-time", G_TYPE_UINT64,
      guint64(seconds(info.decode_s)), "encode-time", G_TYPE_UINT64, guint64(seconds(info.encode_s)), "generated-ahead",
      G_TYPE_BOOLEAN, gboolean(info.generated_ahead), nullptr);
  if (changed) gst_element_post_message(element, gst_message_new_latency(GST_OBJECT(element)));
  gst_element_post_message(element, gst_message_new_element(GST_OBJECT(element), s));
}

void LiveSession::answer_latency(GstQuery* query) {
  std::lock_guard<std::mutex> lock(mutex_);
  const GstClockTime min = min_latency_locked();
  const GstClockTime frame = gst_util_uint64_scale(1, guint64(fps_d_) * GST_SECOND, guint64(fps_n_));
  // What waits in the queue (one chunk) plus the chunk being pushed into it.
  const GstClockTime queued = frame * (queue_frames() + guint64(stream_->chunk_output_frames(1)));
  reported_ = min;  // the timeline waits for the LATENCY event: a query alone configures nothing
  gst_query_set_latency(query, TRUE, min, std::max(min, queued));
}

void LiveSession::configure_latency(GstClockTime latency) {
  if (!GST_CLOCK_TIME_IS_VALID(latency)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  configured_ = latency;
  if (timeline_) timeline_->set_latency(timeline_latency_locked());
}

GstClockTime LiveSession::timeline_latency_locked() const {
  const GstClockTime answered = GST_CLOCK_TIME_IS_VALID(reported_) ? reported_ : min_latency_locked();
  // Less than the source answered is configured where no sink syncs to the clock (the bin then
  // configures 0): judged by it, every frame made after its own time would be late.
  return GST_CLOCK_TIME_IS_VALID(configured_) ? std::max(configured_, answered) : answered;
}

void LiveSession::restart_timeline() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (timeline_) timeline_->restart();
}

void LiveSession::stamp(GstBuffer* buffer) {
  GstClockTime now = GST_CLOCK_TIME_NONE;
  if (GstClock* clock = gst_element_get_clock(element_)) {
    const GstClockTime time = gst_clock_get_time(clock), base = gst_element_get_base_time(element_);
    now = time > base ? time - base : 0;
    gst_object_unref(clock);
  }
  LiveTimeline::Stamp stamp;
  GstClockTime latency;
  guint64 frame;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    latency = timeline_->latency();
    // Without a clock (not PLAYING yet) the frames count from 0.
    frame = timeline_->frames();
    stamp = timeline_->next(GST_CLOCK_TIME_IS_VALID(now) ? now : 0);
  }
  GST_BUFFER_PTS(buffer) = stamp.pts;
  GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION(buffer) = stamp.duration;
  GST_BUFFER_OFFSET(buffer) = frame;
  GST_BUFFER_OFFSET_END(buffer) = frame + 1;
  if (stamp.late == 0) return;
  // Generation fell behind the clock: said on the bus, and the stream goes on from now.
  GstStructure* s = gst_structure_new("wan-live-behind", "frame", G_TYPE_UINT64, frame, "late", G_TYPE_UINT64,
                                      guint64(stamp.late), "latency", G_TYPE_UINT64, guint64(latency), nullptr);
  gst_element_post_message(element_, gst_message_new_element(GST_OBJECT(element_), s));
  GstMessage* qos =
      gst_message_new_qos(GST_OBJECT(element_), TRUE, stamp.pts, GST_CLOCK_TIME_NONE, stamp.pts, stamp.duration);
  gst_message_set_qos_values(qos, gint64(stamp.late), 1.0, 1000000);
  gst_message_set_qos_stats(qos, GST_FORMAT_BUFFERS, frame + 1, 0);
  gst_element_post_message(element_, qos);
}

}  // namespace wan::gst
