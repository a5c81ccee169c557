#include "models/t5/t5_config.h"

#include <nlohmann/json.hpp>

#include "models/common/error.h"
#include "models/common/json_integer.h"

namespace wan {

namespace {

// The tensor `name`, which must be a matrix (each one read here is).
const at::Tensor& require(const TensorMap& weights, const std::string& name) {
  auto it = weights.find(name);
  if (it == weights.end())
    throw Error("umT5 checkpoint has no '" + name + "' tensor; is this a umT5 encoder checkpoint?");
  if (it->second.dim() != 2)
    throw Error("umT5 checkpoint: '" + name + "' has " + std::to_string(it->second.dim()) + " dimensions, expected 2");
  return it->second;
}

}  // namespace

T5Config T5Config::from_json(const nlohmann::json& config) {
  const std::string origin = "umT5 config";
  T5Config c;
  try {
    c.vocab = json_integer(config.at("vocab"), origin, "vocab");
    c.dim = json_integer(config.at("dim"), origin, "dim");
    c.dim_attn = json_integer(config.at("dim_attn"), origin, "dim_attn");
    c.dim_ffn = json_integer(config.at("dim_ffn"), origin, "dim_ffn");
    c.num_heads = json_integer(config.at("num_heads"), origin, "num_heads");
    c.num_layers = json_integer(config.at("num_layers"), origin, "num_layers");
    c.num_buckets = json_integer(config.at("num_buckets"), origin, "num_buckets");
    c.shared_pos = config.value("shared_pos", true);  // the T5Encoder default
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("umT5 config: ") + e.what());
  }
  c.validate();
  return c;
}

T5Config T5Config::from_weights(const TensorMap& weights) {
  T5Config c;
  const at::Tensor& embedding = require(weights, "token_embedding.weight");
  c.vocab = embedding.size(0);
  c.dim = embedding.size(1);
  c.num_layers = 0;
  while (weights.count("blocks." + std::to_string(c.num_layers) + ".norm1.weight")) ++c.num_layers;
  if (c.num_layers == 0) throw Error("umT5 checkpoint has no blocks ('blocks.0.norm1.weight' is missing)");
  c.dim_attn = require(weights, "blocks.0.attn.q.weight").size(0);
  c.dim_ffn = require(weights, "blocks.0.ffn.fc1.weight").size(0);
  c.shared_pos = weights.count("pos_embedding.embedding.weight") != 0;
  const at::Tensor& bias =
      require(weights, c.shared_pos ? "pos_embedding.embedding.weight" : "blocks.0.pos_embedding.embedding.weight");
  c.num_buckets = bias.size(0);
  c.num_heads = bias.size(1);
  c.validate();
  return c;
}

void T5Config::validate() const {
  if (vocab <= 0 || dim <= 0 || dim_attn <= 0 || dim_ffn <= 0 || num_heads <= 0 || num_layers < 0 || num_buckets < 4)
    throw Error("umT5 config: sizes must be positive (and num_buckets >= 4)");
  if (dim_attn % num_heads != 0)
    throw Error("umT5 config: dim_attn " + std::to_string(dim_attn) + " is not a multiple of num_heads " +
                std::to_string(num_heads));
}

}  // namespace wan
