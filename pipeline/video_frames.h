// Decoded video -> 8-bit RGB frames, converted exactly as the official
// cache_video does before encoding: trunc(((clamp(v, -1, 1) + 1) / 2) * 255)
// in float32 (truncation, not rounding; 255 only for v == 1).
#pragma once
#include <ATen/ATen.h>

namespace wan {

// video [3, T, H, W] float on any device -> uint8 [T, H, W, 3] contiguous on the CPU.
at::Tensor video_to_rgb_frames(const at::Tensor& video);

}  // namespace wan
