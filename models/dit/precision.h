// Precision plumbing: a DiT converted to bf16 keeps the reference's float32 islands (time
// embedding, modulation, norms, RoPE, head), so each layer runs in its own weight dtype.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>

namespace wan::dit {

inline at::Tensor run_linear(torch::nn::Linear layer, const at::Tensor& x) {
  return layer->forward(x.to(layer->weight.scalar_type()));
}

// LayerNorm without affine parameters, always in float32.
inline at::Tensor layer_norm_f32(const at::Tensor& x, double eps) {
  return at::layer_norm(x.to(at::kFloat), {x.size(-1)}, {}, {}, eps);
}

}  // namespace wan::dit
