#include "gst/clip_worker.h"

#include <c10/core/InferenceMode.h>

#include <cstring>
#include <random>

namespace wan::gst {

int64_t draw_random_seed() {
  std::random_device device;
  const uint64_t bits = (uint64_t(device()) << 32) ^ uint64_t(device());
  return int64_t(bits >> 1);
}

int64_t frames_in_clips(int num_frames, int clips, bool image_conditioned) {
  if (clips == 0) return -1;
  const int64_t repeated = image_conditioned ? clips - 1 : 0;
  return int64_t(num_frames) * clips - repeated;
}

ClipWorker::ClipWorker(std::shared_ptr<Pipeline> pipeline, FrameQueue& queue, int clips,
                       RequestSource next_request, Events events)
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
    for (int clip = 0; clips_ == 0 || clip < clips_; ++clip) run_clip(clip);
    last.kind = WorkerItem::Kind::End;
  } catch (const Cancelled&) {
    return;  // stop() asked; nobody reads the queue any more
  } catch (const std::exception& e) {
    if (cancel_.cancelled()) return;
    last.kind = WorkerItem::Kind::Error;
    last.error = e.what();
  } catch (...) {
    last.kind = WorkerItem::Kind::Error;
    last.error = "unknown error during generation";
  }
  queue_.push(std::move(last));
}

void ClipWorker::run_clip(int clip) {
  if (!queue_.wait_for_room()) throw Cancelled();
  Request request = next_request_(clip);
  const bool continued = last_frame_.has_value() && request.image.has_value();
  if (continued) {
    // Keep the size: the max-area rule on the already rounded frame could
    // round to a different one.
    request.image = *last_frame_;
    request.width = last_frame_->width;
    request.height = last_frame_->height;
  }
  if (request.seed < 0) request.seed = draw_random_seed();

  ClipInfo info;
  info.clip = clip;
  info.seed = request.seed;
  info.steps = request.steps;
  info.guidance_scale = request.guidance_scale;
  info.prompt = request.prompt;
  if (events_.on_clip_start) events_.on_clip_start(info);

  bool clip_start_sent = false;
  GenerationCallbacks callbacks;
  callbacks.on_progress = [&](const Progress& progress) {
    if (progress.phase == Phase::Denoise) info.steps = progress.total_steps;
    if (events_.on_progress) events_.on_progress(clip, progress);
  };
  callbacks.on_frames = [&](const at::Tensor& frames, int64_t first) {
    const at::Tensor packed = frames.contiguous();
    const int64_t count = packed.size(0), height = packed.size(1), width = packed.size(2);
    const size_t frame_bytes = size_t(height * width * 3);
    const uint8_t* data = packed.data_ptr<uint8_t>();
    for (int64_t i = 0; i < count; ++i) {
      WorkerItem item;
      item.kind = WorkerItem::Kind::Frame;
      item.rgb.assign(data + i * frame_bytes, data + (i + 1) * frame_bytes);

      RgbImage frame;
      frame.width = int(width);
      frame.height = int(height);
      frame.pixels = item.rgb;
      last_frame_ = std::move(frame);

      if (continued && first + i == 0) continue;  // the previous clip's last frame again
      if (!clip_start_sent) {
        WorkerItem start;
        start.kind = WorkerItem::Kind::ClipStart;
        start.clip = info;
        if (!queue_.push(std::move(start))) throw Cancelled();
        clip_start_sent = true;
      }
      if (!queue_.push(std::move(item))) throw Cancelled();
    }
  };
  pipeline_->generate(request, callbacks, cancel_);
}

}  // namespace wan::gst
