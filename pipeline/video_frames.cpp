#include "pipeline/video_frames.h"

namespace wan {

at::Tensor video_to_rgb_frames(const at::Tensor& video) {
  const at::Tensor unit = video.to(at::kFloat).clamp(-1, 1).sub(-1).div(2);
  return unit.mul(255).to(at::kByte).permute({1, 2, 3, 0}).to(at::kCPU).contiguous();
}

}  // namespace wan
