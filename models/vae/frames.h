// Moving between videos [B, C, T, H, W] and batches of frames [B*T, C, H, W],
// for the layers that work on each frame alone.
#pragma once
#include <vector>

#include <ATen/ATen.h>

namespace wan::vae {

// A channels-last view whose size-1 dimensions carry strides that make libtorch's
// layout guess (suggest_memory_format) say "contiguous" (one frame cut from a video
// does): the same memory with the canonical channels-last strides. Otherwise the next
// kernels pick their NCHW paths and convert the layout back and forth (seen with ncu on
// the 720p decode: an NCHW upsample and two full-frame layout copies per frame).
inline at::Tensor with_canonical_channels_last_strides(const at::Tensor& t) {
  if (t.is_contiguous()) return t;
  const int64_t c = t.size(1);
  if (t.dim() == 4 && t.is_contiguous(at::MemoryFormat::ChannelsLast) &&
      t.suggest_memory_format() != at::MemoryFormat::ChannelsLast) {
    const int64_t h = t.size(2), w = t.size(3);
    return t.as_strided(t.sizes(), {h * w * c, 1, w * c, c});
  }
  if (t.dim() == 5 && t.is_contiguous(at::MemoryFormat::ChannelsLast3d) &&
      t.suggest_memory_format() != at::MemoryFormat::ChannelsLast3d) {
    const int64_t d = t.size(2), h = t.size(3), w = t.size(4);
    return t.as_strided(t.sizes(), {d * h * w * c, 1, h * w * c, w * c, c});
  }
  return t;
}

inline at::Tensor video_to_frames(const at::Tensor& x) {
  return with_canonical_channels_last_strides(
      x.permute({0, 2, 1, 3, 4}).reshape({x.size(0) * x.size(2), x.size(1), x.size(3), x.size(4)}));
}

inline at::Tensor frames_to_video(const at::Tensor& frames, int64_t batch) {
  const int64_t t = frames.size(0) / batch;
  return with_canonical_channels_last_strides(
      frames.reshape({batch, t, frames.size(1), frames.size(2), frames.size(3)}).permute({0, 2, 1, 3, 4}));
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
