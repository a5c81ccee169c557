// Random TAEW2.1 decoder weights (models/taehv) under the checkpoint's names, for tests and
// benchmarks that need a file laid out as taew2_1: unit gain per layer (std 1 / sqrt(fan-in))
// so activations stay in range through the stack, the output conv's bias 0.5 so pictures sit
// inside (0, 1) rather than on the clamp.
#pragma once
#include <cmath>
#include <cstdint>

#include <ATen/ATen.h>

#include "models/taehv/taehv_decoder.h"
#include "models/weights/tensor_map.h"

namespace wan::test {

inline TensorMap random_taehv_weights(uint64_t seed) {
  at::manual_seed(seed);
  TensorMap weights;
  for (const auto& p : taehv::TaehvDecoder()->named_parameters()) {
    const at::Tensor& t = p.value();
    const double fan_in = t.dim() == 4 ? double(t.size(1) * t.size(2) * t.size(3)) : 1e4;
    weights[p.key()] = at::randn(t.sizes()) / std::sqrt(fan_in);
  }
  weights["decoder.22.bias"].fill_(0.5);
  return weights;
}

}  // namespace wan::test
