#include "gst/clip_worker.h"

#include <c10/core/InferenceMode.h>

#include "models/common/error.h"
#include "pipeline/seeded_noise.h"

namespace wan::gst {

ClipWorker::ClipWorker(std::shared_ptr<Pipeline> pipeline, std::shared_ptr<FrameQueue> queue, int64_t clips,
                       RequestSource next_request, Events events)
    : core_(std::make_shared<Core>()) {
  core_->pipeline = std::move(pipeline);
  core_->queue = std::move(queue);
  core_->clips = clips;
  core_->next_request = std::move(next_request);
  core_->events = std::move(events);
}

ClipWorker::~ClipWorker() { stop(); }

void ClipWorker::start() {
  core_->cancel.reset();
  thread_ = std::thread([core = core_] {
    // A thread entry: an exception leaving it would end the process.
    try {
      core->run();
    } catch (...) {
      // run() could not queue its end: close the queue so that fill() ends instead of waiting.
      try {
        core->queue->close();
      } catch (...) {
      }
    }
  });
}

void ClipWorker::stop() {
  core_->cancel.cancel();
  core_->queue->close();
  if (!thread_.joinable()) return;
  // Called from the element's stop() and destructors: nothing may leave it.
  try {
    if (thread_.get_id() == std::this_thread::get_id())
      thread_.detach();
    else
      thread_.join();
  } catch (const std::system_error&) {
  }
}

void ClipWorker::Core::run() {
  // Grad mode and inference mode are thread-local: this thread sets its own.
  WorkerItem last;
  try {
    c10::InferenceMode inference_mode;
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

void ClipWorker::Core::run_clip(int64_t clip) {
  if (!queue->wait_for_room()) throw Cancelled();
  Request request = continuation.next(next_request(clip));
  if (request.seed < 0) request.seed = draw_random_seed();

  const Request resolved = pipeline->with_defaults(request);
  ClipInfo info;
  info.clip = clip;
  info.seed = resolved.seed;
  info.steps = resolved.steps.value_or(0);
  info.guidance_scale = resolved.guidance_scale.value_or(0);
  info.prompt = resolved.prompt;
  if (resolved.loras) info.loras = lora_list_text(*resolved.loras);
  if (events.on_clip_start) events.on_clip_start(info);

  bool clip_start_sent = false;
  GenerationCallbacks callbacks;
  callbacks.on_progress = [&](const Progress& progress) {
    // Nothing reaches the element once stopped (it may be going away).
    if (events.on_progress && !cancel.cancelled()) events.on_progress(clip, progress);
  };
  if (events.preview_scale && events.on_preview) {
    callbacks.preview.scale = [&] { return cancel.cancelled() ? 0 : events.preview_scale(); };
    callbacks.preview.on_preview = [&](const Preview& preview) {
      if (!cancel.cancelled()) events.on_preview(clip, preview);
    };
  }
  callbacks.on_frames = [&](const at::Tensor& frames, int64_t first) {
    const at::Tensor packed = continuation.frames_to_emit(frames, first).contiguous();
    const int64_t count = packed.size(0);
    if (count == 0) return;
    const size_t frame_bytes = size_t(packed[0].numel());
    const uint8_t* data = packed.data_ptr<uint8_t>();
    if (!clip_start_sent) {
      WorkerItem start;
      start.kind = WorkerItem::Kind::ClipStart;
      start.clip = info;
      if (!queue->push(std::move(start))) throw Cancelled();
      clip_start_sent = true;
    }
    for (int64_t i = 0; i < count; ++i) {
      WorkerItem item;
      item.kind = WorkerItem::Kind::Frame;
      item.rgb.assign(data + i * frame_bytes, data + (i + 1) * frame_bytes);
      if (!queue->push(std::move(item))) throw Cancelled();
    }
  };
  const GenerationResult result = pipeline->generate(resolved, callbacks, cancel);
  if (events.on_clip_done && !cancel.cancelled()) events.on_clip_done(clip, result);
}

}  // namespace wan::gst
