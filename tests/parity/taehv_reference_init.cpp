#include "tests/parity/taehv_reference_init.h"

#include <torch/nn/modules/conv.h>
#include <torch/utils.h>

#include "models/common/error.h"

namespace wan::parity {

namespace {

class ReferenceLayers {
 public:
  // One nn.Conv2d as the reference builds it (padding and stride do not change the init).
  void conv(const std::string& name, int64_t in, int64_t out, int64_t kernel, bool bias) {
    torch::nn::Conv2d c(torch::nn::Conv2dOptions(in, out, kernel).bias(bias));
    weights[name + ".weight"] = c->weight.detach().clone();
    if (bias) weights[name + ".bias"] = c->bias.detach().clone();
  }
  // MemBlock(n, n): conv(2n, n), ReLU, conv(n, n), ReLU, conv(n, n); no skip conv.
  void mem_block(const std::string& name, int64_t n) {
    conv(name + ".conv.0", 2 * n, n, 3, true);
    conv(name + ".conv.2", n, n, 3, true);
    conv(name + ".conv.4", n, n, 3, true);
  }
  TensorMap weights;
};

std::string at_index(const char* part, int index) { return std::string(part) + "." + std::to_string(index); }

}  // namespace

TensorMap taehv_reference_weights(const nlohmann::json& init) {
  if (init.value("scheme", std::string()) != "pytorch-default")
    throw Error("weights_init: only the \"pytorch-default\" scheme is known");
  torch::manual_seed(init.at("seed").get<uint64_t>());
  ReferenceLayers r;
  // Encoder (Wan2.1: time pooling x2, x2, x1): conv 3->64, then per stage TPool's 1x1 conv,
  // a stride-2 conv without bias and three MemBlocks; conv 64->16.
  r.conv("encoder.0", 3, 64, 3, true);
  const int64_t pool[3] = {2, 2, 1};
  for (int s = 0, i = 2; s < 3; ++s, i += 5) {
    r.conv(at_index("encoder", i) + ".conv", 64 * pool[s], 64, 1, false);
    r.conv(at_index("encoder", i + 1), 64, 64, 3, false);
    for (int b = 0; b < 3; ++b) r.mem_block(at_index("encoder", i + 2 + b), 64);
  }
  r.conv("encoder.17", 64, 16, 3, true);
  // Decoder (models/taehv/taehv_decoder.h lists it), time growth x1, x2, x2.
  r.conv("decoder.1", 16, 256, 3, true);
  const int64_t width[4] = {256, 128, 64, 64}, grow[3] = {1, 2, 2};
  for (int s = 0, i = 3; s < 3; ++s, i += 6) {
    for (int b = 0; b < 3; ++b) r.mem_block(at_index("decoder", i + b), width[s]);
    r.conv(at_index("decoder", i + 4) + ".conv", width[s], width[s] * grow[s], 1, false);
    r.conv(at_index("decoder", i + 5), width[s], width[s + 1], 3, false);
  }
  r.conv("decoder.22", 64, 3, 3, true);
  // Named locals: a range-for over items() of a temporary would outlive the temporary.
  const nlohmann::json scale = init.value("scale", nlohmann::json::object());
  const nlohmann::json fill = init.value("fill", nlohmann::json::object());
  auto tensor = [&](const std::string& name) -> at::Tensor& {
    const auto it = r.weights.find(name);
    if (it == r.weights.end()) throw Error("weights_init names " + name + ", which TAEHV does not have");
    return it->second;
  };
  for (const auto& [name, factor] : scale.items()) tensor(name).mul_(factor.get<double>());
  for (const auto& [name, value] : fill.items()) tensor(name).fill_(value.get<double>());
  return r.weights;
}

}  // namespace wan::parity
