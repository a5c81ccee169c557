#include "models/dit/dit_block.h"

#include <torch/nn/modules/activation.h>

#include <cmath>

#include "models/common/error.h"
#include "models/cuda/fp8_ops.h"
#include "models/dit/dit_ops.h"

namespace wan::dit {

DiTBlockImpl::DiTBlockImpl(const DiTConfig& c) : eps(c.eps) {
  self_attn = register_module("self_attn", SelfAttention(c.dim, c.num_heads, c.qk_norm, c.eps));
  if (c.cross_attn_norm)
    norm3 = register_module(
        "norm3", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim}).eps(c.eps).elementwise_affine(true)));
  cross_attn = register_module("cross_attn",
                               CrossAttention(c.dim, c.num_heads, c.qk_norm, c.eps, c.has_image_input(), c.text_len));
  // The GELU module only keeps the checkpoint's indices (ffn.0, ffn.2): forward fuses it into fc1.
  ffn = register_module("ffn", torch::nn::Sequential(Linear(c.dim, c.ffn_dim),
                                                     torch::nn::GELU(torch::nn::GELUOptions().approximate("tanh")),
                                                     Linear(c.ffn_dim, c.dim)));
  modulation = register_parameter("modulation", at::randn({1, 6, c.dim}) / std::sqrt(static_cast<double>(c.dim)));
}

at::Tensor DiTBlockImpl::forward(const at::Tensor& x_in, const at::Tensor& time, const TokenCounts& tokens,
                                 const std::vector<RopeRotation>& rotations, const at::Tensor& context,
                                 BlockCache* cache, int64_t start_token) {
  // e[0..5] = shift, scale, gate of the attention; shift, scale, gate of the FFN (float32),
  // [B, 1, dim] or per frame [B, F, 1, dim].
  const std::vector<at::Tensor> e = (modulation + time).chunk(6, -2);
  const at::ScalarType dtype = compute_dtype();
  at::Tensor x = x_in.to(at::kFloat).contiguous();

  const Projection y = self_attn->forward(modulated_norm(x, e[0], e[1], eps, dtype), tokens, rotations,
                                          cache ? &cache->self_kv : nullptr, start_token);
  // Each residual add runs in the pass of the norm that reads its result.
  at::Tensor normed;
  if (norm3.is_empty()) {
    gated_residual_(x, y, e[2]);
    normed = x.to(dtype);
  } else {
    normed = add_affine_norm(x, y, e[2], *norm3, dtype);
  }
  const at::Tensor h = add_modulated_norm(x, cross_attn->forward(normed, context, cache ? &cache->context : nullptr),
                                          at::Tensor(), e[3], e[4], eps, dtype);
  gated_residual_(x, feed_forward(h), e[5]);
  return x;
}

Projection DiTBlockImpl::feed_forward(const at::Tensor& h) {
  // fc2's run-time adapters read the bf16 activation, which this path would rebuild from its
  // e4m3 codes: adapted fc2 layers take the plain path. fc1's adapters are added before the
  // bias and GELU that the quantisation kernel applies.
  if (fc1()->is_fp8() && fc2()->is_fp8() && !fc2()->adapted()) {
    const Projection y = fc1()->project(h);
    return fc2()->project(cuda::quantize_rows_e4m3(y.y, y.bias, /*gelu=*/true));
  }
  return fc2()->project(fc1()->forward_gelu(h));
}

void DiTBlockImpl::quantize_fp8(const at::Device& compute) {
  self_attn->quantize_fp8(compute);
  for (auto* layer : {cross_attn->q.get(), cross_attn->k.get(), cross_attn->v.get(), cross_attn->o.get(), fc1(), fc2()})
    layer->quantize_fp8(compute);
  if (!cross_attn->k_img.is_empty())
    for (auto* layer : {cross_attn->k_img.get(), cross_attn->v_img.get()}) layer->quantize_fp8(compute);
}

void DiTBlockImpl::set_compute_dtype(at::ScalarType dtype) {
  // to() would cast e4m3 codes and their scales as if they were values.
  if (fc1()->is_fp8()) throw Error("DiT: the compute dtype of fp8 blocks cannot change");
  self_attn->set_compute_dtype(dtype);
  cross_attn->set_compute_dtype(dtype);
  ffn->to(dtype);
}

}  // namespace wan::dit
