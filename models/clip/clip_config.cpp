#include "models/clip/clip_config.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "models/common/error.h"
#include "models/common/json_integer.h"

namespace wan {

namespace {

const at::Tensor& require(const TensorMap& weights, const std::string& name) {
  auto it = weights.find(name);
  if (it == weights.end())
    throw Error("CLIP vision checkpoint has no '" + name + "' tensor; is this a CLIP vision tower checkpoint?");
  return it->second;
}

}  // namespace

ClipVisionConfig ClipVisionConfig::from_json(const nlohmann::json& config) {
  const std::string origin = "CLIP vision config";
  ClipVisionConfig c;
  try {
    c.image_size = json_integer(config.at("image_size"), origin, "image_size");
    c.patch_size = json_integer(config.at("patch_size"), origin, "patch_size");
    c.dim = json_integer(config.at("dim"), origin, "dim");
    c.mlp_ratio = config.value("mlp_ratio", c.mlp_ratio);
    c.num_heads = json_integer(config.at("num_heads"), origin, "num_heads");
    c.num_layers = json_integer(config.at("num_layers"), origin, "num_layers");
    c.pre_norm = config.value("pre_norm", c.pre_norm);
    c.post_norm = config.value("post_norm", c.post_norm);
    c.activation = config.value("activation", c.activation);
    c.norm_eps = config.value("norm_eps", c.norm_eps);
    const std::string pool = config.value("pool_type", std::string("token"));
    if (pool != "token" && pool != "token_fc")
      throw Error("CLIP vision config: pool_type '" + pool + "' is not supported (token, token_fc)");
    if (config.contains("preprocess")) {
      const auto& p = config.at("preprocess");
      if (p.contains("size") && json_integer(p.at("size").at(0), origin, "preprocess.size") != c.image_size)
        throw Error("CLIP vision config: preprocess size differs from image_size");
      if (p.contains("mean")) c.mean = p.at("mean").get<std::array<double, 3>>();
      if (p.contains("std")) c.std = p.at("std").get<std::array<double, 3>>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("CLIP vision config: ") + e.what());
  }
  c.validate();
  return c;
}

ClipVisionConfig ClipVisionConfig::from_weights(const TensorMap& weights) {
  ClipVisionConfig c;
  const at::Tensor& patch = require(weights, "patch_embedding.weight");  // [dim, 3, p, p]
  const at::Tensor& pos = require(weights, "pos_embedding");             // [1, tokens, dim]
  if (patch.dim() != 4 || pos.dim() != 3)
    throw Error("CLIP vision checkpoint: patch_embedding.weight or pos_embedding has an unexpected rank");
  c.dim = patch.size(0);
  c.patch_size = patch.size(2);
  if (pos.size(1) < 2)
    throw Error("CLIP vision checkpoint: pos_embedding has " + std::to_string(pos.size(1)) +
                " tokens, not 1 + a square number of patches");
  const auto grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(pos.size(1) - 1))));
  if (grid * grid + 1 != pos.size(1))
    throw Error("CLIP vision checkpoint: pos_embedding has " + std::to_string(pos.size(1)) +
                " tokens, not 1 + a square number of patches");
  c.image_size = c.patch_size * grid;
  c.pre_norm = weights.count("pre_norm.weight") != 0;
  c.num_layers = 0;
  while (weights.count("transformer." + std::to_string(c.num_layers) + ".norm1.weight")) ++c.num_layers;
  if (c.num_layers > 0) {
    const at::Tensor& fc1 = require(weights, "transformer.0.mlp.0.weight");
    if (fc1.dim() != 2) throw Error("CLIP vision checkpoint: transformer.0.mlp.0.weight has an unexpected rank");
    c.mlp_ratio = static_cast<double>(fc1.size(0)) / c.dim;
  }
  c.validate();
  return c;
}

void ClipVisionConfig::validate() const {
  if (image_size <= 0 || patch_size <= 0 || dim <= 0 || num_heads <= 0 || num_layers < 0)
    throw Error("CLIP vision config: sizes must be positive");
  if (image_size % patch_size != 0)
    throw Error("CLIP vision config: image_size " + std::to_string(image_size) + " is not a multiple of patch_size " +
                std::to_string(patch_size));
  if (num_layers > 0 && dim % num_heads != 0)
    throw Error("CLIP vision config: dim " + std::to_string(dim) + " is not a multiple of num_heads " +
                std::to_string(num_heads));
  if (activation != "gelu" && activation != "quick_gelu")
    throw Error("CLIP vision config: activation '" + activation + "' is not supported (gelu, quick_gelu)");
}

}  // namespace wan
