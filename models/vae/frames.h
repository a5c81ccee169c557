// Moving between videos [B, C, T, H, W] and batches of frames [B*T, C, H, W],
// for the layers that work on each frame alone.
#pragma once
#include <vector>

#include <ATen/ATen.h>

namespace wan::vae {

inline at::Tensor video_to_frames(const at::Tensor& x) {
  return x.permute({0, 2, 1, 3, 4}).reshape({x.size(0) * x.size(2), x.size(1), x.size(3), x.size(4)});
}

inline at::Tensor frames_to_video(const at::Tensor& frames, int64_t batch) {
  const int64_t t = frames.size(0) / batch;
  return frames.reshape({batch, t, frames.size(1), frames.size(2), frames.size(3)}).permute({0, 2, 1, 3, 4});
}

// The pieces in which layers that are causal frame by frame run through a
// chunk [B, C, T, H, W], one after the other, with the same result: single
// frames on CUDA, where that cuts the working memory at full resolution to
// one frame's; the whole chunk on the CPU, where oneDNN's rounding depends on
// the frame count and results stay bit-identical to the reference's chunking.
inline std::vector<at::Tensor> frame_pieces(const at::Tensor& chunk) {
  if (!chunk.is_cuda() || chunk.size(2) == 1) return {chunk};
  return chunk.split(1, 2);
}

}  // namespace wan::vae
