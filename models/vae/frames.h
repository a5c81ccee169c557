// Moving between videos [B, C, T, H, W] and batches of frames [B*T, C, H, W],
// for the layers that work on each frame alone.
#pragma once
#include <ATen/ATen.h>

namespace wan::vae {

inline at::Tensor video_to_frames(const at::Tensor& x) {
  return x.permute({0, 2, 1, 3, 4}).reshape({x.size(0) * x.size(2), x.size(1), x.size(3), x.size(4)});
}

inline at::Tensor frames_to_video(const at::Tensor& frames, int64_t batch) {
  const int64_t t = frames.size(0) / batch;
  return frames.reshape({batch, t, frames.size(1), frames.size(2), frames.size(3)}).permute({0, 2, 1, 3, 4});
}

}  // namespace wan::vae
