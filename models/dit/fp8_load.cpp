#include "models/dit/fp8_load.h"

#include <torch/csrc/autograd/grad_mode.h>

#include <regex>
#include <tuple>
#include <vector>

#include "models/cuda/fp8_ops.h"
#include "models/dit/dit_block.h"
#include "models/dit/linear.h"

namespace wan::dit {

bool is_block_linear_weight(const std::string& name) {
  static const std::regex pattern(
      R"((^|.*\.)blocks\.[0-9]+\.(self_attn\.(q|k|v|o)|cross_attn\.(q|k|v|o|k_img|v_img)|ffn\.(0|2))\.weight)");
  return std::regex_match(name, pattern);
}

void quantize_block_linears(TensorMap& weights, const at::Device& compute, const at::Device& destination) {
  torch::NoGradGuard no_grad;
  std::vector<std::string> names;
  for (const auto& [name, tensor] : weights)
    if (is_block_linear_weight(name) && tensor.dim() == 2) names.push_back(name);
  for (const std::string& name : names) {
    at::Tensor& weight = weights[name];
    const std::string scale_name = name + "_scale";  // X.weight -> X.weight_scale
    const auto scale = weights.find(scale_name);
    at::Tensor values, scales;
    if (cuda::is_e4m3(weight)) {
      values = weight;
      scales = scale != weights.end() ? scale->second : at::ones({weight.size(0)}, at::kFloat);
    } else {
      // Uploaded layer by layer: the device holds one layer's float32 copy at most.
      at::Tensor full = weight.to(compute);
      if (scale != weights.end()) full = full.to(at::kFloat) * scale->second.to(compute, at::kFloat).view({-1, 1});
      std::tie(values, scales) = cuda::quantize_weight_e4m3(full, compute);
    }
    weight = values.to(destination);
    // A copy of its own: a float32 scale read from the file may be a view of the file's memory
    // map, which a host-resident model (sequential mode) would otherwise keep mapped. (The
    // reader copies e4m3 weights out of the map already.)
    weights[scale_name] = scales.to(destination, at::kFloat).reshape({-1}).clone();
  }
}

void adopt_fp8_block_linears(WanModelImpl& model, const TensorMap& weights) {
  for (size_t i = 0; i < model.blocks->size(); ++i) {
    const std::string block = "blocks." + std::to_string(i) + ".";
    for (const auto& item : model.blocks[i]->named_modules("", /*include_self=*/false)) {
      auto* layer = item.value()->as<LinearImpl>();
      if (!layer) continue;
      const auto weight = weights.find(block + item.key() + ".weight");
      const auto scale = weights.find(block + item.key() + ".weight_scale");
      if (weight == weights.end() || scale == weights.end() || weight->second.sizes() != layer->weight.sizes() ||
          scale->second.numel() != layer->out_features)
        continue;
      layer->check_fp8_shape();
      layer->set_fp8_weight(weight->second, scale->second);
    }
  }
}

}  // namespace wan::dit
