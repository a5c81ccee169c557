#include "models/dit/dit_attention.h"

#include <torch/csrc/autograd/grad_mode.h>

#include "models/common/same_kind.h"
#include "models/cuda/fp8_attention.h"
#include "models/cuda/int8_attention.h"
#include "models/dit/attention.h"
#include "models/dit/dit_ops.h"

namespace wan::dit {
namespace {

// A context projection (no RoPE, bias added) as [B, L, heads, head_dim].
at::Tensor project_context(Linear& layer, const RMSNorm& norm, const at::Tensor& context, int64_t heads) {
  return qk_norm_rope(Projection{layer->forward(context), at::Tensor()}, norm, heads);
}

// a, b, c (same shape, contiguous) as one tensor of 3x the rows when they lie back to back
// in one buffer; undefined otherwise.
at::Tensor stacked(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
  const int64_t n = a.numel();
  const bool back_to_back = a.is_contiguous() && b.is_contiguous() && c.is_contiguous() && b.sizes() == a.sizes() &&
                            c.sizes() == a.sizes() && a.is_alias_of(b) && a.is_alias_of(c) &&
                            b.storage_offset() == a.storage_offset() + n &&
                            c.storage_offset() == b.storage_offset() + n;
  if (!back_to_back) return {};
  std::vector<int64_t> sizes = a.sizes().vec();
  sizes[0] *= 3;
  return a.as_strided(sizes, a.strides());
}

}  // namespace

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps(eps) { weight = register_parameter("weight", at::ones({dim})); }

at::Tensor RMSNormImpl::forward(const at::Tensor& x) const {
  const at::Tensor xf = x.to(at::kFloat);
  // Back to the input dtype before the weight, as the reference does; the float32 weight
  // then promotes the result to float32.
  return (xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps)).to(x.scalar_type()) * weight;
}

SelfAttentionImpl::SelfAttentionImpl(int64_t dim, int64_t num_heads, bool qk_norm, double eps) : num_heads(num_heads) {
  q = register_module("q", Linear(dim, dim));
  k = register_module("k", Linear(dim, dim));
  v = register_module("v", Linear(dim, dim));
  o = register_module("o", Linear(dim, dim));
  if (qk_norm) {
    norm_q = register_module("norm_q", RMSNorm(dim, eps));
    norm_k = register_module("norm_k", RMSNorm(dim, eps));
  }
}

std::pair<at::Tensor, at::Tensor> SelfAttentionImpl::stacked_qkv() {
  const bool fp8 = q->is_fp8();
  at::Tensor weight = stacked(q->weight, k->weight, v->weight), bias = stacked(q->bias, k->bias, v->bias);
  at::Tensor scales = fp8 ? stacked(q->weight_scale, k->weight_scale, v->weight_scale) : at::Tensor();
  if (weight.defined() && bias.defined() && (!fp8 || scales.defined())) return {weight, bias};
  const auto same_kind = same_kind_as(q->weight);
  torch::NoGradGuard no_grad;
  // e4m3 weights are concatenated as bytes: the copy is the same.
  auto bytes = [&](const at::Tensor& t) { return fp8 ? t.view(at::kByte) : t; };
  weight = at::cat({bytes(q->weight), bytes(k->weight), bytes(v->weight)});
  if (fp8) weight = weight.view(q->weight.scalar_type());
  bias = at::cat({q->bias, k->bias, v->bias});
  if (fp8) scales = at::cat({q->weight_scale, k->weight_scale, v->weight_scale});
  const int64_t dim = q->weight.size(0);
  int64_t row = 0;
  for (auto* layer : {&q, &k, &v}) {
    (*layer)->weight.set_data(weight.slice(0, row, row + dim));
    (*layer)->bias.set_data(bias.slice(0, row, row + dim));
    if (fp8) (*layer)->weight_scale.set_data(scales.slice(0, row, row + dim));
    row += dim;
  }
  return {weight, bias};
}

void SelfAttentionImpl::quantize_fp8(const at::Device& compute) {
  o->quantize_fp8(compute);
  if (q->is_fp8()) return;
  q->check_fp8_shape();
  torch::NoGradGuard no_grad;
  const auto [values, scales] = cuda::quantize_weight_e4m3(stacked_qkv().first, compute);
  const int64_t dim = q->out_features;
  int64_t row = 0;
  for (auto* layer : {&q, &k, &v}) {
    (*layer)->set_fp8_weight(values.slice(0, row, row + dim), scales.slice(0, row, row + dim));
    row += dim;
  }
}

std::array<Projection, 3> SelfAttentionImpl::project_qkv(const at::Tensor& x) {
  // Where the fused kernels run (bf16 on CUDA), one GEMM for the three; the reference's
  // three otherwise.
  if (!q->fused_kernels_apply())
    return {Projection{q->forward(x), {}}, Projection{k->forward(x), {}}, Projection{v->forward(x), {}}};
  const auto [weight, bias] = stacked_qkv();
  if (q->is_fp8()) {
    // The biases in the GEMM's epilogue, as in bf16: the value path has no kernel to add one.
    const at::Tensor xw = x.to(at::kBFloat16);
    const at::Tensor scales = stacked(q->weight_scale, k->weight_scale, v->weight_scale);
    const std::vector<at::Tensor> qkv =
        cuda::fp8_linear(cuda::quantize_rows_e4m3(xw), weight, scales, bias).chunk(3, -1);
    add_adapters_sharing_input(xw, {{q.get(), qkv[0]}, {k.get(), qkv[1]}, {v.get(), qkv[2]}});
    return {Projection{qkv[0], {}}, Projection{qkv[1], {}}, Projection{qkv[2], {}}};
  }
  const std::vector<at::Tensor> qkv =
      linear_with_adapters(x.to(weight.scalar_type()), weight, bias, {q.get(), k.get(), v.get()}).chunk(3, -1);
  return {Projection{qkv[0], {}}, Projection{qkv[1], {}}, Projection{qkv[2], {}}};
}

Projection SelfAttentionImpl::forward(const at::Tensor& x, const TokenCounts& tokens,
                                      const std::vector<RopeRotation>& rotations, KVCache* cache, int64_t start_token) {
  const auto [q_out, k_out, v_out] = project_qkv(x);
  const at::Tensor query = qk_norm_rope(q_out, norm_q, num_heads, &rotations, &tokens);
  const at::Tensor key = qk_norm_rope(k_out, norm_k, num_heads, &rotations, &tokens);
  const at::Tensor value = qk_norm_rope(v_out, RMSNorm{nullptr}, num_heads);
  auto attend = [&](const at::Tensor& keys, const at::Tensor& values, const at::Tensor& lengths) {
    if (kind == SelfAttentionKind::exact) return attention(query, keys, values, lengths);
    std::vector<int64_t> lens;
    if (lengths.defined()) {
      const at::Tensor cpu = lengths.to(at::kCPU, at::kLong).contiguous();
      lens.assign(cpu.data_ptr<int64_t>(), cpu.data_ptr<int64_t>() + cpu.numel());
    }
    return kind == SelfAttentionKind::fp8 ? cuda::fp8_attention(query, keys, values, lens)
                                          : cuda::int8_attention(query, keys, values, lens);
  };
  if (!cache) return o->project(attend(key, value, tokens.cpu).flatten(2));
  // Keys are cached in the values' dtype, as the reference's type_as(v).
  cache->write(key.to(value.scalar_type()), value, start_token);
  return o->project(attend(cache->keys(), cache->values(), {}).flatten(2));
}

void SelfAttentionImpl::set_compute_dtype(at::ScalarType dtype) {
  for (auto* layer : {&q, &k, &v, &o}) (*layer)->to(dtype);
}

CrossAttentionImpl::CrossAttentionImpl(int64_t dim, int64_t num_heads, bool qk_norm, double eps, bool image_tokens,
                                       int64_t text_len)
    : num_heads(num_heads), text_len(text_len) {
  q = register_module("q", Linear(dim, dim));
  k = register_module("k", Linear(dim, dim));
  v = register_module("v", Linear(dim, dim));
  o = register_module("o", Linear(dim, dim));
  if (qk_norm) {
    norm_q = register_module("norm_q", RMSNorm(dim, eps));
    norm_k = register_module("norm_k", RMSNorm(dim, eps));
  }
  if (image_tokens) {
    k_img = register_module("k_img", Linear(dim, dim));
    v_img = register_module("v_img", Linear(dim, dim));
    if (qk_norm) norm_k_img = register_module("norm_k_img", RMSNorm(dim, eps));
  }
}

Projection CrossAttentionImpl::forward(const at::Tensor& x, const at::Tensor& context, ContextKV* kv) {
  const bool with_image = !k_img.is_empty();
  ContextKV computed;
  ContextKV& c = kv ? *kv : computed;
  if (c.empty()) {
    const int64_t image_len = with_image ? context.size(1) - text_len : 0;
    const at::Tensor text = context.slice(1, image_len);
    c.k = project_context(k, norm_k, text, num_heads);
    c.v = project_context(v, RMSNorm{nullptr}, text, num_heads);
    if (with_image) {
      const at::Tensor image = context.slice(1, 0, image_len);
      c.k_img = project_context(k_img, norm_k_img, image, num_heads);
      c.v_img = project_context(v_img, RMSNorm{nullptr}, image, num_heads);
    }
  }
  const at::Tensor query = qk_norm_rope(q->project(x), norm_q, num_heads);
  at::Tensor out = attention(query, c.k, c.v);
  if (with_image) out = out + attention(query, c.k_img, c.v_img);
  return o->project(out.flatten(2));
}

void CrossAttentionImpl::set_compute_dtype(at::ScalarType dtype) {
  for (auto* layer : {&q, &k, &v, &o, &k_img, &v_img})
    if (!layer->is_empty()) (*layer)->to(dtype);
}

}  // namespace wan::dit
