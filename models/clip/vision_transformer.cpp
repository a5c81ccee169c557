#include "models/clip/vision_transformer.h"

#include <cmath>
#include <optional>

#include <ATen/ATen.h>
#include <torch/nn/modules/container/functional.h>

#include "models/common/error.h"

namespace wan {

ClipLayerNormImpl::ClipLayerNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", make_parameter({dim}, 1.0));
  bias = register_parameter("bias", make_parameter({dim}, 0.0));
}

at::Tensor ClipLayerNormImpl::forward(const at::Tensor& x) {
  return at::layer_norm(x.to(at::kFloat), {weight.size(0)}, weight.to(at::kFloat), bias.to(at::kFloat), eps_)
      .to(x.scalar_type());
}

ClipSelfAttentionImpl::ClipSelfAttentionImpl(int64_t dim, int64_t num_heads) : num_heads_(num_heads) {
  to_qkv = register_module("to_qkv", make_linear(dim, 3 * dim));
  proj = register_module("proj", make_linear(dim, dim));
}

at::Tensor ClipSelfAttentionImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0), s = x.size(1), c = x.size(2);
  const int64_t d = c / num_heads_;
  const auto qkv = to_qkv(x).view({b, s, 3, num_heads_, d}).permute({2, 0, 3, 1, 4});  // [3, B, heads, S, d]
  const at::Tensor q = qkv[0], k = qkv[1], v = qkv[2];
  const at::Tensor logits = at::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(d));
  const at::Tensor out = at::matmul(at::softmax(logits, -1), v);
  return proj(out.transpose(1, 2).reshape({b, s, c}));
}

ClipAttentionBlockImpl::ClipAttentionBlockImpl(const ClipVisionConfig& c) : post_norm_(c.post_norm) {
  norm1 = register_module("norm1", ClipLayerNorm(c.dim, c.norm_eps));
  attn = register_module("attn", ClipSelfAttention(c.dim, c.num_heads));
  norm2 = register_module("norm2", ClipLayerNorm(c.dim, c.norm_eps));
  const auto hidden = static_cast<int64_t>(c.dim * c.mlp_ratio);
  torch::nn::Functional activation =
      c.activation == "quick_gelu"
          ? torch::nn::Functional([](const at::Tensor& x) { return x * at::sigmoid(1.702 * x); })
          : torch::nn::Functional([](const at::Tensor& x) { return at::gelu(x); });  // erf GELU
  mlp =
      register_module("mlp", torch::nn::Sequential(make_linear(c.dim, hidden), activation, make_linear(hidden, c.dim)));
}

at::Tensor ClipAttentionBlockImpl::forward(const at::Tensor& x) {
  if (post_norm_) {
    const at::Tensor h = x + norm1(attn(x));
    return h + norm2(mlp->forward(h));
  }
  const at::Tensor h = x + attn(norm1(x));
  return h + mlp->forward(norm2(h));
}

VisionTransformerImpl::VisionTransformerImpl(const ClipVisionConfig& config, const at::TensorOptions& options,
                                             ParameterInit init)
    : config_(config) {
  config_.validate();
  const at::ScalarType dtype = c10::typeMetaToScalarType(options.dtype());
  std::optional<SkipParameterInit> skip_init;
  if (init == ParameterInit::Uninitialized) skip_init.emplace(options.device(), dtype);
  const int64_t p = config_.patch_size, dim = config_.dim;
  // The patch convolution (0.1 % of the parameters) is initialised and moved below.
  patch_embedding = register_module(
      "patch_embedding", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, dim, p).stride(p).bias(!config_.pre_norm)));
  cls_embedding = register_parameter("cls_embedding", make_parameter({1, 1, dim}, 0.0));
  pos_embedding = register_parameter("pos_embedding", make_parameter({1, config_.tokens(), dim}, 0.0));
  if (config_.pre_norm) pre_norm = register_module("pre_norm", ClipLayerNorm(dim, config_.norm_eps));
  transformer = register_module("transformer", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.num_layers; ++i) transformer->push_back(ClipAttentionBlock(config_));
  to(options.device(), dtype);
}

at::Tensor VisionTransformerImpl::forward(const at::Tensor& pixels, bool use_31_block) {
  const int64_t s = config_.image_size;
  if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != s || pixels.size(3) != s)
    throw Error("CLIP vision tower: expected pixels [N, 3, " + std::to_string(s) + ", " + std::to_string(s) + "]");
  const int64_t n = pixels.size(0);
  at::Tensor x = patch_embedding(pixels).flatten(2).transpose(1, 2);  // [N, patches, dim]
  x = at::cat({cls_embedding.expand({n, -1, -1}), x}, 1) + pos_embedding;
  if (!pre_norm.is_empty()) x = pre_norm(x);
  const size_t blocks = transformer->size() - (use_31_block && transformer->size() > 0 ? 1 : 0);
  for (size_t i = 0; i < blocks; ++i) x = transformer->ptr(i)->as<ClipAttentionBlock>()->forward(x);
  return x;
}

}  // namespace wan
