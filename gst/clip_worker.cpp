#include "gst/clip_worker.h"

#include <c10/core/InferenceMode.h>

#include "models/common/error.h"
#include "pipeline/seeded_noise.h"

namespace wan::gst {

ClipWorker::ClipWorker(std::shared_ptr<Pipeline> pipeline, FrameQueue& queue, int64_t clips, RequestSource next_request,
                       Events events)
    : pipeline_(std::move(pipeline)),
      queue_(queue),
      clips_(clips),
      next_request_(std::move(next_request)),
      events_(std::move(events)) {}

ClipWorker::~ClipWorker() { stop(); }

void ClipWorker::start() {
  cancel_.reset();
  thread_ = std::thread([this] { run(); });
}

void ClipWorker::stop() {
  cancel_.cancel();
  queue_.close();
  if (thread_.joinable()) thread_.join();
}

void ClipWorker::run() {
  // Grad mode and inference mode are thread-local: this thread sets its own.
  c10::InferenceMode inference_mode;
  WorkerItem last;
  try {
    for (int64_t clip = 0; clips_ == 0 || clip < clips_; ++clip) run_clip(clip);
    last.kind = WorkerItem::Kind::End;
  } catch (const Cancelled&) {
    return;  // stop() asked; nobody reads the queue any more
  } catch (const std::exception& e) {
    if (cancel_.cancelled()) return;
    last.kind = WorkerItem::Kind::Error;
    last.error = one_line_message(e);  // no libtorch backtrace on the bus
  } catch (...) {
    last.kind = WorkerItem::Kind::Error;
    last.error = "unknown error during generation";
  }
  queue_.push(std::move(last));
}

void ClipWorker::run_clip(int clip) {
  if (!queue_.wait_for_room()) throw Cancelled();
  Request request = continuation_.next(next_request_(clip));
  if (request.seed < 0) request.seed = draw_random_seed();

  const Request resolved = pipeline_->with_defaults(request);
  ClipInfo info;
  info.clip = clip;
  info.seed = resolved.seed;
  info.steps = resolved.steps.value_or(0);
  info.guidance_scale = resolved.guidance_scale.value_or(0);
  info.prompt = resolved.prompt;
  if (resolved.loras) info.loras = lora_list_text(*resolved.loras);
  if (events_.on_clip_start) events_.on_clip_start(info);

  bool clip_start_sent = false;
  GenerationCallbacks callbacks;
  callbacks.on_progress = [&](const Progress& progress) {
    if (events_.on_progress) events_.on_progress(clip, progress);
  };
  callbacks.on_frames = [&](const at::Tensor& frames, int64_t first) {
    const at::Tensor packed = continuation_.frames_to_emit(frames, first).contiguous();
    const int64_t count = packed.size(0);
    if (count == 0) return;
    const size_t frame_bytes = size_t(packed[0].numel());
    const uint8_t* data = packed.data_ptr<uint8_t>();
    if (!clip_start_sent) {
      WorkerItem start;
      start.kind = WorkerItem::Kind::ClipStart;
      start.clip = info;
      if (!queue_.push(std::move(start))) throw Cancelled();
      clip_start_sent = true;
    }
    for (int64_t i = 0; i < count; ++i) {
      WorkerItem item;
      item.kind = WorkerItem::Kind::Frame;
      item.rgb.assign(data + i * frame_bytes, data + (i + 1) * frame_bytes);
      if (!queue_.push(std::move(item))) throw Cancelled();
    }
  };
  pipeline_->generate(resolved, callbacks, cancel_);
}

}  // namespace wan::gst
