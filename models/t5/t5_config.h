// Hyper-parameters of the umT5 encoder (the T5Encoder constructor arguments).
#pragma once
#include <cstdint>

#include <nlohmann/json_fwd.hpp>

#include "models/weights/tensor_map.h"

namespace wan {

struct T5Config {
  // umt5-xxl as Wan ships it.
  int64_t vocab = 256384;
  int64_t dim = 4096;
  int64_t dim_attn = 4096;
  int64_t dim_ffn = 10240;
  int64_t num_heads = 64;
  int64_t num_layers = 24;
  int64_t num_buckets = 32;
  bool shared_pos = false;  // one relative-position table for all blocks instead of one per block

  // From a config.json holding the T5Encoder constructor arguments.
  static T5Config from_json(const nlohmann::json& config);
  // Read off the tensor shapes of an official-named checkpoint.
  static T5Config from_weights(const TensorMap& weights);

  // Throws wan::Error when the sizes cannot make an encoder.
  void validate() const;
};

}  // namespace wan
