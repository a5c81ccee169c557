// Hyper-parameters of the CLIP vision tower (the reference VisionTransformer
// constructor arguments) and of the image preprocessing in front of it.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "models/weights/tensor_map.h"

namespace wan {

struct ClipVisionConfig {
  // open-clip xlm-roberta-large ViT-H/14, the tower Wan i2v / flf2v use.
  int64_t image_size = 224;
  int64_t patch_size = 14;
  int64_t dim = 1280;
  double mlp_ratio = 4;
  int64_t num_heads = 16;
  int64_t num_layers = 32;
  bool pre_norm = true;             // LayerNorm after the embeddings (and no patch-conv bias)
  bool post_norm = false;           // post-norm blocks instead of pre-norm ones
  std::string activation = "gelu";  // "gelu" (erf) or "quick_gelu"
  double norm_eps = 1e-5;
  std::array<double, 3> mean = {0.48145466, 0.4578275, 0.40821073};
  std::array<double, 3> std = {0.26862954, 0.26130258, 0.27577711};

  int64_t grid() const { return image_size / patch_size; }
  int64_t tokens() const { return grid() * grid() + 1; }  // patches + cls

  // From a config.json with the VisionTransformer arguments and an optional
  // "preprocess" object (size, mean, std).
  static ClipVisionConfig from_json(const nlohmann::json& config);
  // Read off the shapes of official-named tower weights (no "visual." prefix).
  // The head count is not in the shapes: the reference factory's 16 is kept.
  static ClipVisionConfig from_weights(const TensorMap& weights);

  void validate() const;
};

}  // namespace wan
