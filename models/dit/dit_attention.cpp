#include "models/dit/dit_attention.h"
#include "models/parameter_init.h"

#include "models/dit/attention.h"
#include "models/dit/precision.h"
#include "models/error.h"

namespace wan::dit {
namespace {

// Linear projection, then the optional RMSNorm over the full width, viewed as [B, L, heads, head_dim].
at::Tensor project(torch::nn::Linear proj, RMSNorm norm, const at::Tensor& x, int64_t heads) {
  at::Tensor y = run_linear(proj, x);
  if (!norm.is_empty()) y = norm->forward(y);
  return y.view({y.size(0), y.size(1), heads, -1});
}

at::Tensor merge_heads(const at::Tensor& x) { return x.flatten(2); }

}  // namespace

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps(eps) { weight = register_parameter("weight", at::ones({dim})); }

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  const at::Tensor xf = x.to(at::kFloat);
  // Back to the input dtype before the weight, as the reference does; the float32 weight
  // then promotes the result to float32.
  return (xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps)).to(x.scalar_type()) * weight;
}

SelfAttentionImpl::SelfAttentionImpl(int64_t dim, int64_t num_heads, bool qk_norm, double eps) : num_heads(num_heads) {
  q = register_module("q", make_linear(dim, dim));
  k = register_module("k", make_linear(dim, dim));
  v = register_module("v", make_linear(dim, dim));
  o = register_module("o", make_linear(dim, dim));
  if (qk_norm) {
    norm_q = register_module("norm_q", RMSNorm(dim, eps));
    norm_k = register_module("norm_k", RMSNorm(dim, eps));
  }
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& seq_lens,
                                      const std::vector<RopeRotation>& rotations) {
  const at::Tensor query = apply_rope(project(q, norm_q, x, num_heads), rotations);
  const at::Tensor key = apply_rope(project(k, norm_k, x, num_heads), rotations);
  const at::Tensor value = project(v, RMSNorm{nullptr}, x, num_heads);
  return run_linear(o, merge_heads(attention(query, key, value, seq_lens)));
}

void SelfAttentionImpl::set_compute_dtype(at::ScalarType dtype) {
  for (auto* layer : {&q, &k, &v, &o}) (*layer)->to(dtype);
}

CrossAttentionImpl::CrossAttentionImpl(int64_t dim, int64_t num_heads, bool qk_norm, double eps, bool image_tokens,
                                       int64_t text_len)
    : num_heads(num_heads), text_len(text_len) {
  q = register_module("q", make_linear(dim, dim));
  k = register_module("k", make_linear(dim, dim));
  v = register_module("v", make_linear(dim, dim));
  o = register_module("o", make_linear(dim, dim));
  if (qk_norm) {
    norm_q = register_module("norm_q", RMSNorm(dim, eps));
    norm_k = register_module("norm_k", RMSNorm(dim, eps));
  }
  if (image_tokens) {
    k_img = register_module("k_img", make_linear(dim, dim));
    v_img = register_module("v_img", make_linear(dim, dim));
    if (qk_norm) norm_k_img = register_module("norm_k_img", RMSNorm(dim, eps));
  }
}

at::Tensor CrossAttentionImpl::forward(const at::Tensor& x, const at::Tensor& context) {
  const bool with_image = !k_img.is_empty();
  const int64_t image_len = with_image ? context.size(1) - text_len : 0;
  const at::Tensor text = context.slice(1, image_len);

  const at::Tensor query = project(q, norm_q, x, num_heads);
  at::Tensor out =
      merge_heads(attention(query, project(k, norm_k, text, num_heads), project(v, RMSNorm{nullptr}, text, num_heads)));
  if (with_image) {
    const at::Tensor image = context.slice(1, 0, image_len);
    out = out + merge_heads(attention(query, project(k_img, norm_k_img, image, num_heads),
                                      project(v_img, RMSNorm{nullptr}, image, num_heads)));
  }
  return run_linear(o, out);
}

void CrossAttentionImpl::set_compute_dtype(at::ScalarType dtype) {
  for (auto* layer : {&q, &k, &v, &o, &k_img, &v_img})
    if (!layer->is_empty()) (*layer)->to(dtype);
}

}  // namespace wan::dit
