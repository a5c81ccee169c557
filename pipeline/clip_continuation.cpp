#include "pipeline/clip_continuation.h"

#include <ATen/ATen.h>

namespace wan {

Request ClipContinuation::next(Request request) {
  continued_ = last_frame_.has_value() && request.image.has_value();
  if (continued_) {
    request.image = *last_frame_;
    request.width = last_frame_->width;
    request.height = last_frame_->height;
  }
  return request;
}

at::Tensor ClipContinuation::frames_to_emit(const at::Tensor& frames, int64_t first) {
  if (frames.size(0) == 0) return frames;
  const at::Tensor last = frames[frames.size(0) - 1].contiguous();
  RgbImage image;
  image.height = static_cast<int>(last.size(0));
  image.width = static_cast<int>(last.size(1));
  image.pixels.assign(last.data_ptr<uint8_t>(), last.data_ptr<uint8_t>() + last.numel());
  last_frame_ = std::move(image);
  // The first frame of a continued clip is the previous clip's last frame again.
  return continued_ && first == 0 ? frames.slice(0, 1) : frames;
}

int64_t frames_in_clips(int num_frames, int64_t clips, bool image_conditioned) {
  if (clips == 0) return -1;
  const int64_t repeated = image_conditioned ? clips - 1 : 0;
  return int64_t{num_frames} * clips - repeated;
}

}  // namespace wan
