// Hyper-parameters of the Wan2.1 diffusion transformer (WanModel).
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>

#include "models/weights/tensor_map.h"

namespace wan {

enum class DiTModelType { T2V, I2V, FLF2V };

std::string to_string(DiTModelType type);
DiTModelType parse_dit_model_type(const std::string& name);

struct DiTConfig {
  // Defaults are the WanModel constructor's (the released checkpoints rely on them).
  DiTModelType model_type = DiTModelType::T2V;
  std::array<int64_t, 3> patch_size{1, 2, 2};
  int64_t text_len = 512;
  int64_t in_dim = 16;
  int64_t dim = 2048;
  int64_t ffn_dim = 8192;
  int64_t freq_dim = 256;
  int64_t text_dim = 4096;
  int64_t out_dim = 16;
  int64_t num_heads = 16;
  int64_t num_layers = 32;
  std::array<int64_t, 2> window_size{-1, -1};
  bool qk_norm = true;
  bool cross_attn_norm = true;
  double eps = 1e-6;
  // Rows of the reference's RoPE tables: no grid axis may be longer.
  int64_t rope_max_seq_len = 1024;

  // Official key names of the fields a config file set explicitly; the others are defaults
  // that infer_from_weights may fill in.
  std::set<std::string> given;

  bool has_image_input() const { return model_type != DiTModelType::T2V; }
  int64_t head_dim() const { return dim / num_heads; }

  // Reads a config.json in the official form (WanModel) or the diffusers form
  // (WanTransformer3DModel).
  static DiTConfig from_json_text(const std::string& text, const std::string& origin);
  static DiTConfig from_json_file(const std::string& path);

  // Fills every field the config did not give from the tensor shapes (official names) and
  // checks the given ones against them; throws wan::Error naming the tensor on a mismatch.
  void infer_from_weights(const TensorMap& weights);

  // Throws wan::Error when the values cannot form a model.
  void validate() const;
};

}  // namespace wan
