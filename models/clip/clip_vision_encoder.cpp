#include "models/clip/clip_vision_encoder.h"

#include <c10/core/GradMode.h>

#include "models/common/error.h"

namespace wan {

at::Tensor clip_preprocess(const std::vector<at::Tensor>& videos, const ClipVisionConfig& config) {
  if (videos.empty()) throw Error("CLIP: no image given");
  const int64_t s = config.image_size;
  std::vector<at::Tensor> frames;
  for (const auto& video : videos) {
    if (video.dim() != 4 || video.size(0) != 3 || video.numel() == 0)
      throw Error("CLIP: expected each video as [3, frames, height, width], got " + std::to_string(video.dim()) +
                  " dimensions");
    frames.push_back(at::upsample_bicubic2d(video.to(at::kFloat).transpose(0, 1), {s, s}, /*align_corners=*/false));
  }
  const at::Tensor x = at::cat(frames) * 0.5 + 0.5;  // [-1, 1] -> [0, 1]
  const auto opts = x.options();
  const at::Tensor mean = at::tensor(std::vector<double>(config.mean.begin(), config.mean.end()), opts).view({3, 1, 1});
  const at::Tensor std = at::tensor(std::vector<double>(config.std.begin(), config.std.end()), opts).view({3, 1, 1});
  return (x - mean) / std;
}

ClipVisionEncoder::ClipVisionEncoder(VisionTransformer tower, at::Device device, at::ScalarType dtype)
    : tower_(std::move(tower)), device_(device), dtype_(dtype) {
  tower_->to(device_, dtype_);
  tower_->eval();
}

at::Tensor ClipVisionEncoder::encode_video(const std::vector<at::Tensor>& videos) {
  c10::AutoGradMode no_grad(false);
  const at::Device device = tower_->parameters().front().device();
  const at::Tensor pixels = clip_preprocess(videos, config()).to(device, dtype_);
  return tower_->forward(pixels, /*use_31_block=*/true);
}

}  // namespace wan
