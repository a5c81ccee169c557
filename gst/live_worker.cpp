#include "gst/live_worker.h"

#include <c10/core/InferenceMode.h>

#include "models/common/error.h"

namespace wan::gst {

LiveWorker::LiveWorker(std::shared_ptr<LiveStream> stream, std::shared_ptr<FrameQueue> queue, Events events)
    : core_(std::make_shared<Core>()) {
  core_->stream = std::move(stream);
  core_->queue = std::move(queue);
  core_->events = std::move(events);
}

LiveWorker::~LiveWorker() { stop(); }

void LiveWorker::start() {
  core_->cancel.reset();
  thread_.start([core = core_] { core->run(); }, core_->queue);
}

void LiveWorker::stop() {
  core_->cancel.cancel();
  core_->queue->close();
  thread_.finish();
}

void LiveWorker::Core::run() {
  WorkerItem last;
  try {
    c10::InferenceMode inference_mode;
    std::string last_prompt;
    for (;;) run_chunk(last_prompt);  // endless: only stop() or an error ends it
  } catch (const Cancelled&) {
    return;
  } catch (const std::exception& e) {
    if (cancel.cancelled()) return;
    last.kind = WorkerItem::Kind::Error;
    last.error = one_line_message(e);
  } catch (...) {
    last.kind = WorkerItem::Kind::Error;
    last.error = "unknown error during live generation";
  }
  queue->push(std::move(last));
}

void LiveWorker::Core::run_chunk(std::string& last_prompt) {
  // A slow downstream holds the next chunk back.
  if (!queue->wait_for_room()) throw Cancelled();
  const std::string prompt = events.prompt ? events.prompt() : "";
  stream->set_prompt(prompt);
  const int64_t index = stream->chunks_done();
  bool tagged = index > 0 && prompt == last_prompt;
  const LiveChunkInfo info = stream->next_chunk(
      [&](const at::Tensor& frames, int64_t) {
        if (!tagged) {
          // The stream's first frames, and those of a new prompt, carry its tags.
          WorkerItem start;
          start.kind = WorkerItem::Kind::ClipStart;
          start.clip.clip = int(index);
          start.clip.seed = stream->seed();
          start.clip.steps = int(stream->settings().denoising_steps.size());
          start.clip.guidance_scale = 1;
          start.clip.prompt = prompt;
          if (!queue->push(std::move(start))) throw Cancelled();
          tagged = true;
        }
        const at::Tensor packed = frames.contiguous();
        const size_t frame_bytes = size_t(packed[0].numel());
        const uint8_t* data = packed.data_ptr<uint8_t>();
        for (int64_t i = 0; i < packed.size(0); ++i) {
          WorkerItem item;
          item.kind = WorkerItem::Kind::Frame;
          item.rgb.assign(data + i * frame_bytes, data + (i + 1) * frame_bytes);
          if (!queue->push(std::move(item))) throw Cancelled();
        }
      },
      cancel);
  last_prompt = prompt;
  if (events.on_chunk_done && !cancel.cancelled()) events.on_chunk_done(info);
}

}  // namespace wan::gst
