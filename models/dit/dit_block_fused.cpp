// The DiT block on CUDA with our fused kernels: the math of dit_block.cpp, but
// each elementwise chain (LayerNorm + modulation, q/k RMSNorm + RoPE, gated
// residual add, bias + GELU) reads and writes its tensor once, and q, k, v come
// from one GEMM.
#include <torch/version.h>

#include "models/cuda/fused_ops.h"
#include "models/dit/attention.h"
#include "models/dit/dit_attention.h"
#include "models/dit/dit_block.h"
#include "models/dit/precision.h"
#include "models/same_kind.h"

namespace wan::dit {
namespace {

at::Tensor heads_view(const at::Tensor& t, int64_t heads) { return t.view({t.size(0), t.size(1), heads, -1}); }

// A linear layer's GEMM alone; the fused kernel that next reads the output adds the bias.
// (Left to at::linear, these layers get a separate broadcast bias pass over the whole
// output: 4 per block, ~0.45 ms each at 480p on an H200.)
at::Tensor matmul_without_bias(const torch::nn::LinearImpl& layer, const at::Tensor& x) {
  return at::matmul(x.to(layer.weight.scalar_type()), layer.weight.t());
}

// a, b, c (same shape, contiguous) as one tensor of 3x the rows when they lie back to back
// in one buffer; undefined otherwise.
at::Tensor stacked(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
  const int64_t n = a.numel();
  const bool back_to_back = a.is_contiguous() && b.is_contiguous() && c.is_contiguous() && b.sizes() == a.sizes() &&
                            c.sizes() == a.sizes() && a.is_alias_of(b) && a.is_alias_of(c) &&
                            b.storage_offset() == a.storage_offset() + n && c.storage_offset() == b.storage_offset() + n;
  if (!back_to_back) return {};
  std::vector<int64_t> sizes = a.sizes().vec();
  sizes[0] *= 3;
  return a.as_strided(sizes, a.strides());
}

}  // namespace

bool DiTBlockImpl::can_run_fused(const at::Tensor& x, const std::vector<RopeRotation>& rotations) const {
  if (!x.is_cuda() || !cuda::fused_ops_available() || self_attn->norm_q.is_empty()) return false;
  if (self_attn->q->weight.scalar_type() != at::kBFloat16) return false;
  for (const auto& r : rotations)  // one RoPE table for the batch: every sample has the same grid
    if (!r.cos_f32.defined() || !r.cos_f32.is_same(rotations[0].cos_f32)) return false;
  return true;
}

std::pair<at::Tensor, at::Tensor> SelfAttentionImpl::fused_qkv() {
  at::Tensor weight = stacked(q->weight, k->weight, v->weight), bias = stacked(q->bias, k->bias, v->bias);
  if (weight.defined() && bias.defined()) return {weight, bias};
  const auto same_kind = same_kind_as(q->weight);
  torch::NoGradGuard no_grad;
  weight = at::cat({q->weight, k->weight, v->weight});
  bias = at::cat({q->bias, k->bias, v->bias});
  const int64_t dim = q->weight.size(0);
  int64_t row = 0;
  for (auto* layer : {&q, &k, &v}) {
    (*layer)->weight.set_data(weight.slice(0, row, row + dim));
    (*layer)->bias.set_data(bias.slice(0, row, row + dim));
    row += dim;
  }
  return {weight, bias};
}

at::Tensor SelfAttentionImpl::forward_fused(const at::Tensor& x, const TokenCounts& tokens,
                                            const RopeRotation& rotation) {
  const auto [qkv_weight, qkv_bias] = fused_qkv();
  const double eps = norm_q->eps;
  const std::vector<at::Tensor> qkv = at::linear(x, qkv_weight, qkv_bias).chunk(3, -1);
  const auto norm_rope = [&](const at::Tensor& t, RMSNorm norm) {
    return cuda::rms_norm_rope(t, norm->weight, rotation.cos_f32, rotation.sin_f32, tokens.device, tokens.max,
                               num_heads, eps);
  };
  const at::Tensor query = norm_rope(qkv[0], norm_q), key = norm_rope(qkv[1], norm_k);
  const at::Tensor value = heads_view(qkv[2], num_heads);
  return matmul_without_bias(
      *o, attention(heads_view(query, num_heads), heads_view(key, num_heads), value, tokens.cpu).flatten(2));
}

at::Tensor CrossAttentionImpl::forward_fused(const at::Tensor& x, const at::Tensor& context) {
  const bool with_image = !k_img.is_empty();
  const int64_t image_len = with_image ? context.size(1) - text_len : 0;
  const at::Tensor none;
  const auto project_context = [&](torch::nn::Linear proj, RMSNorm norm, const at::Tensor& c) {
    at::Tensor y = run_linear(proj, c);
    if (!norm.is_empty()) y = norm->forward(y);
    return heads_view(y, num_heads);
  };
  const at::Tensor query = heads_view(
      norm_q.is_empty() ? run_linear(q, x)
                        : cuda::rms_norm_rope(matmul_without_bias(*q, x), norm_q->weight, none, none, none, 0, num_heads,
                                              norm_q->eps, q->bias),
      num_heads);
  const at::Tensor text = context.slice(1, image_len);
  at::Tensor out = attention(query, project_context(k, norm_k, text), project_context(v, RMSNorm{nullptr}, text));
  if (with_image) {
    const at::Tensor image = context.slice(1, 0, image_len);
    out.add_(attention(query, project_context(k_img, norm_k_img, image), project_context(v_img, RMSNorm{nullptr}, image)));
  }
  return matmul_without_bias(*o, out.flatten(2));
}

at::Tensor DiTBlockImpl::forward_fused(const at::Tensor& x_in, const at::Tensor& time, const TokenCounts& tokens,
                                       const std::vector<RopeRotation>& rotations, const at::Tensor& context) {
  // e[0..5] = shift, scale, gate of the attention; shift, scale, gate of the FFN (float32).
  const std::vector<at::Tensor> e = (modulation + time).chunk(6, 1);
  at::Tensor x = x_in.scalar_type() == at::kFloat ? x_in.contiguous() : x_in.to(at::kFloat).contiguous();
  const at::Tensor y = self_attn->forward_fused(cuda::modulated_layer_norm(x, e[0], e[1], eps), tokens, rotations[0]);
  // Each residual add runs in the pass of the norm that reads its result.
  at::Tensor normed;
  if (norm3.is_empty()) {
    cuda::gated_residual_(x, y, e[2], self_attn->o->bias);
    normed = x.to(at::kBFloat16);
  } else {
    normed = cuda::add_layer_norm_affine(x, y, e[2], norm3->weight, norm3->bias, norm3->options.eps(),
                                         self_attn->o->bias);
  }
  const at::Tensor h = cuda::add_modulated_layer_norm(x, cross_attn->forward_fused(normed, context), at::Tensor(),
                                                      e[3], e[4], eps, cross_attn->o->bias);
  const auto& fc1 = ffn[0]->as<torch::nn::Linear>();
  const auto& fc2 = ffn[2]->as<torch::nn::Linear>();
#if TORCH_VERSION_MAJOR >= 2
  // Bias + tanh-GELU in the GEMM epilogue (cuBLASLt's GELU is the tanh form).
  const at::Tensor h2 = h.view({-1, h.size(-1)});
  const at::Tensor hidden =
      at::_addmm_activation(fc1->bias, h2, fc1->weight.t(), 1, 1, /*use_gelu=*/true).view({h.size(0), h.size(1), -1});
#else
  const at::Tensor hidden = at::gelu(fc1->forward(h), "tanh");
#endif
  cuda::gated_residual_(x, matmul_without_bias(*fc2, hidden), e[5], fc2->bias);
  return x;
}

}  // namespace wan::dit
