#include "models/dit/dit_block.h"
#include "models/parameter_init.h"

#include <torch/nn/modules/activation.h>

#include <cmath>

#include "models/dit/precision.h"

namespace wan::dit {

DiTBlockImpl::DiTBlockImpl(const DiTConfig& c) : eps(c.eps) {
  self_attn = register_module("self_attn", SelfAttention(c.dim, c.num_heads, c.qk_norm, c.eps));
  if (c.cross_attn_norm)
    norm3 = register_module(
        "norm3", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim}).eps(c.eps).elementwise_affine(true)));
  cross_attn = register_module("cross_attn",
                               CrossAttention(c.dim, c.num_heads, c.qk_norm, c.eps, c.has_image_input(), c.text_len));
  ffn = register_module("ffn", torch::nn::Sequential(make_linear(c.dim, c.ffn_dim),
                                                     torch::nn::GELU(torch::nn::GELUOptions().approximate("tanh")),
                                                     make_linear(c.ffn_dim, c.dim)));
  modulation = register_parameter("modulation", at::randn({1, 6, c.dim}) / std::sqrt(static_cast<double>(c.dim)));
}

at::Tensor DiTBlockImpl::forward(const at::Tensor& x_in, const at::Tensor& time, const TokenCounts& tokens,
                                 const std::vector<RopeRotation>& rotations, const at::Tensor& context) {
  if (can_run_fused(x_in, rotations)) return forward_fused(x_in, time, tokens, rotations, context);
  // e[0..5] = shift, scale, gate of the attention; shift, scale, gate of the FFN.
  const std::vector<at::Tensor> e = (modulation + time).chunk(6, 1);
  at::Tensor x = x_in;

  const at::Tensor y = self_attn->forward(layer_norm_f32(x, eps) * (1 + e[1]) + e[0], tokens.cpu, rotations);
  x = x + y * e[2];

  const at::Tensor normed = norm3.is_empty() ? x : norm3->forward(x.to(at::kFloat));
  x = x + cross_attn->forward(normed, context);

  const at::Tensor h = layer_norm_f32(x, eps) * (1 + e[4]) + e[3];
  const auto* fc_in = ffn[0]->as<torch::nn::Linear>();
  x = x + ffn->forward(h.to(fc_in->weight.scalar_type())) * e[5];
  return x;
}

void DiTBlockImpl::set_compute_dtype(at::ScalarType dtype) {
  self_attn->set_compute_dtype(dtype);
  cross_attn->set_compute_dtype(dtype);
  ffn->to(dtype);
}

}  // namespace wan::dit
