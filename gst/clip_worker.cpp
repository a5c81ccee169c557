#include "gst/clip_worker.h"

#include <c10/core/InferenceMode.h>

#include "models/common/error.h"
#include "pipeline/keyframe_segments.h"
#include "pipeline/seeded_noise.h"

namespace wan::gst {

namespace {
// The worker whose generation this thread runs (its own thread, or one making a keyframe
// segment), so that a stop() called from there lets go instead of joining itself.
thread_local const void* generating_for = nullptr;
}  // namespace

ClipWorker::ClipWorker(std::shared_ptr<Pipeline> pipeline, std::shared_ptr<FrameQueue> queue, int64_t clips,
                       RequestSource next_request, Events events)
    : core_(std::make_shared<Core>()) {
  core_->pipeline = std::move(pipeline);
  core_->queue = std::move(queue);
  core_->clips = clips;
  core_->next_request = std::move(next_request);
  core_->events = std::move(events);
}

ClipWorker::ClipWorker(std::vector<std::shared_ptr<Pipeline>> pipelines, std::shared_ptr<FrameQueue> queue,
                       int segments, RequestSource next_request, Events events)
    : ClipWorker(pipelines.empty() ? nullptr : pipelines.front(), std::move(queue), segments, std::move(next_request),
                 std::move(events)) {
  core_->segment_pipelines = std::move(pipelines);
}

ClipWorker::~ClipWorker() { stop(); }

void ClipWorker::start() {
  core_->cancel.reset();
  thread_.start([core = core_] { core->run(); }, core_->queue);
}

void ClipWorker::stop() {
  core_->cancel_all();
  core_->queue->close();
  thread_.finish(generating_for == core_.get());
}

void ClipWorker::Core::run() {
  // Grad mode and inference mode are thread-local: this thread sets its own.
  generating_for = this;
  WorkerItem last;
  try {
    c10::InferenceMode inference_mode;
    if (!segment_pipelines.empty())
      run_segments();
    else
      for (int64_t clip = 0; clips == 0 || clip < clips; ++clip) run_clip(clip);
    last.kind = WorkerItem::Kind::End;
  } catch (const Cancelled&) {
    return;  // stop() asked; nobody reads the queue any more
  } catch (const std::exception& e) {
    if (cancel.cancelled()) return;
    last.kind = WorkerItem::Kind::Error;
    last.error = one_line_message(e);  // no libtorch backtrace on the bus
  } catch (...) {
    last.kind = WorkerItem::Kind::Error;
    last.error = "unknown error during generation";
  }
  queue->push(std::move(last));
}

void ClipWorker::Core::cancel_all() {
  cancel.cancel();
  std::lock_guard<std::mutex> lock(ordered_mutex);
  if (ordered) ordered->cancel();
}

namespace {

ClipInfo clip_info(int64_t clip, const Request& resolved) {
  ClipInfo info;
  info.clip = int(clip);
  info.seed = resolved.seed;
  info.steps = resolved.steps.value_or(0);
  info.guidance_scale = resolved.guidance_scale.value_or(0);
  info.prompt = resolved.prompt;
  if (resolved.loras) info.loras = lora_list_text(*resolved.loras);
  return info;
}

}  // namespace

GenerationCallbacks ClipWorker::Core::callbacks_for(int64_t clip) {
  GenerationCallbacks callbacks;
  callbacks.on_progress = [this, clip](const Progress& progress) {
    // Nothing reaches the element once stopped (it may be going away).
    if (events.on_progress && !cancel.cancelled()) events.on_progress(int(clip), progress);
  };
  if (events.preview_scale && events.on_preview) {
    callbacks.preview.scale = [this] { return cancel.cancelled() ? 0 : events.preview_scale(); };
    callbacks.preview.decoder = events.preview_decoder;
    callbacks.preview.on_preview = [this, clip](const Preview& preview) {
      if (!cancel.cancelled()) events.on_preview(int(clip), preview);
    };
  }
  return callbacks;
}

void ClipWorker::Core::push_clip_start(const ClipInfo& info) {
  WorkerItem start;
  start.kind = WorkerItem::Kind::ClipStart;
  start.clip = info;
  if (!queue->push(std::move(start))) throw Cancelled();
}

void ClipWorker::Core::push_frames(const at::Tensor& frames) {
  const at::Tensor packed = frames.contiguous();
  const int64_t count = packed.size(0);
  if (count == 0) return;
  const size_t frame_bytes = size_t(packed[0].numel());
  const uint8_t* data = packed.data_ptr<uint8_t>();
  for (int64_t i = 0; i < count; ++i) {
    WorkerItem item;
    item.kind = WorkerItem::Kind::Frame;
    item.rgb.assign(data + i * frame_bytes, data + (i + 1) * frame_bytes);
    if (!queue->push(std::move(item))) throw Cancelled();
  }
}

void ClipWorker::Core::run_clip(int64_t clip) {
  if (!queue->wait_for_room()) throw Cancelled();
  Request request = continuation.next(next_request(int(clip)));
  if (request.seed < 0) request.seed = draw_random_seed();

  const Request resolved = pipeline->with_defaults(request);
  const ClipInfo info = clip_info(clip, resolved);
  if (events.on_clip_start) events.on_clip_start(info);

  bool clip_start_sent = false;
  GenerationCallbacks callbacks = callbacks_for(clip);
  callbacks.on_frames = [&](const at::Tensor& frames, int64_t first) {
    const at::Tensor emitted = continuation.frames_to_emit(frames, first);
    if (emitted.size(0) == 0) return;
    if (!clip_start_sent) push_clip_start(info);
    clip_start_sent = true;
    push_frames(emitted);
  };
  const GenerationResult result = pipeline->generate(resolved, callbacks, cancel);
  if (events.on_clip_done && !cancel.cancelled()) events.on_clip_done(int(clip), result);
}

void ClipWorker::Core::run_segments() {
  OrderedSegments ordered_segments(int(segment_pipelines.size()), int(clips));
  {
    std::lock_guard<std::mutex> lock(ordered_mutex);
    ordered = &ordered_segments;
  }
  struct Unregister {
    Core* core;
    ~Unregister() {
      std::lock_guard<std::mutex> lock(core->ordered_mutex);
      core->ordered = nullptr;
    }
  } unregister{this};
  if (cancel.cancelled()) ordered_segments.cancel();  // stopped before it was registered

  std::mutex infos_mutex;
  std::vector<ClipInfo> infos(static_cast<size_t>(clips));
  int queued_start = -1;  // the last segment whose ClipStart is queued (run()'s thread only)
  KeyframeVideoCallbacks callbacks;
  callbacks.request = [&](int segment) {
    generating_for = this;
    // As between clips: a slow downstream holds the next segment back.
    if (!queue->wait_for_room()) throw Cancelled();
    return next_request(segment);
  };
  callbacks.on_segment_start = [&](int segment, const Request& resolved) {
    const ClipInfo info = clip_info(segment, resolved);
    {
      std::lock_guard<std::mutex> lock(infos_mutex);
      infos[size_t(segment)] = info;
    }
    if (events.on_clip_start && !cancel.cancelled()) events.on_clip_start(info);
  };
  callbacks.on_segment_done = [&](int segment, const GenerationResult& result) {
    if (events.on_clip_done && !cancel.cancelled()) events.on_clip_done(segment, result);
  };
  callbacks.generation = [&](int segment) { return callbacks_for(segment); };
  callbacks.on_frames = [&](int segment, const at::Tensor& frames) {
    if (segment != queued_start) {
      ClipInfo info;
      {
        std::lock_guard<std::mutex> lock(infos_mutex);
        info = infos[size_t(segment)];
      }
      push_clip_start(info);
      queued_start = segment;
    }
    push_frames(frames);
  };
  generate_keyframe_video(segment_pipelines, ordered_segments, callbacks);
}

}  // namespace wan::gst
