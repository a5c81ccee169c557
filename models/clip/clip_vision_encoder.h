// Wan's CLIPModel.visual: raw frames in [-1, 1] -> the CLIP tower's hidden
// states after all blocks but the last, the image context of i2v / flf2v.
#pragma once
#include <vector>

#include <ATen/ATen.h>

#include "models/clip/vision_transformer.h"

namespace wan {

// Each video [3, T, H, W] in [-1, 1] -> its T frames bicubic-resized to S x S
// (align_corners false, no antialias, no clamp), concatenated, mapped to
// [0, 1] and normalised with the config's mean / std: [sum T, 3, S, S] float32.
at::Tensor clip_preprocess(const std::vector<at::Tensor>& videos, const ClipVisionConfig& config);

class ClipVisionEncoder {
 public:
  // `tower` already loaded; it is moved to `device` / `dtype`.
  ClipVisionEncoder(VisionTransformer tower, at::Device device, at::ScalarType dtype);

  // videos: [3, T_i, H_i, W_i] in [-1, 1], any size -> [sum T_i, tokens, dim]
  // on the device the tower's weights are on now (its own, or where a DeviceVisit brought
  // them), in its dtype.
  at::Tensor encode_video(const std::vector<at::Tensor>& videos);

  const ClipVisionConfig& config() const { return tower_->config(); }
  VisionTransformer tower() const { return tower_; }
  at::Device device() const { return device_; }  // where the tower was placed (its home)

 private:
  VisionTransformer tower_;
  at::Device device_;
  at::ScalarType dtype_;
};

}  // namespace wan
