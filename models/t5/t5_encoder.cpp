#include "models/t5/t5_encoder.h"

#include <cmath>
#include <limits>
#include <optional>

#include <ATen/ATen.h>
#include <c10/util/Half.h>

#include "models/common/error.h"

namespace wan {

namespace {

bool is_reduced_float(at::ScalarType t) { return t == at::kHalf || t == at::kBFloat16; }

// float16 activations overflow in umT5's residual stream; the reference clamps
// them back inside the finite range (a no-op in float32 and bfloat16).
at::Tensor clamp_fp16_overflow(const at::Tensor& x) {
  if (x.scalar_type() != at::kHalf || !at::isinf(x).any().item<bool>()) return x;
  const double limit = static_cast<double>(std::numeric_limits<c10::Half>::max()) - 1000;
  return x.clamp(-limit, limit);
}

double lowest_value(at::ScalarType t) {
  switch (t) {
    case at::kHalf: return static_cast<double>(std::numeric_limits<c10::Half>::lowest());
    case at::kBFloat16: return static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
    case at::kDouble: return std::numeric_limits<double>::lowest();
    default: return static_cast<double>(std::numeric_limits<float>::lowest());
  }
}

}  // namespace

T5LayerNormImpl::T5LayerNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", make_parameter({dim}, 1.0));
}

at::Tensor T5LayerNormImpl::forward(const at::Tensor& x) {
  at::Tensor y = x * at::rsqrt(x.to(at::kFloat).pow(2).mean(-1, /*keepdim=*/true) + eps_);
  if (is_reduced_float(weight.scalar_type())) y = y.to(weight.scalar_type());
  return weight * y;
}

T5AttentionImpl::T5AttentionImpl(int64_t dim, int64_t dim_attn, int64_t num_heads) : num_heads_(num_heads) {
  q = register_module("q", make_linear(dim, dim_attn, /*bias=*/false));
  k = register_module("k", make_linear(dim, dim_attn, /*bias=*/false));
  v = register_module("v", make_linear(dim, dim_attn, /*bias=*/false));
  o = register_module("o", make_linear(dim_attn, dim, /*bias=*/false));
}

at::Tensor T5AttentionImpl::forward(const at::Tensor& x, const at::Tensor& bias) {
  const int64_t b = x.size(0), l = x.size(1);
  auto heads = [&](const at::Tensor& t) { return t.view({b, l, num_heads_, -1}).transpose(1, 2); };
  const at::Tensor qh = heads(q(x)), kh = heads(k(x)), vh = heads(v(x));  // [B, heads, L, d]
  const at::Tensor logits = at::matmul(qh, kh.transpose(-1, -2)) + bias;
  const at::Tensor weights = at::softmax(logits.to(at::kFloat), -1).to(logits.scalar_type());
  return o(at::matmul(weights, vh).transpose(1, 2).reshape({b, l, -1}));
}

T5FeedForwardImpl::T5FeedForwardImpl(int64_t dim, int64_t dim_ffn) {
  gate = register_module("gate", torch::nn::Sequential(make_linear(dim, dim_ffn, /*bias=*/false)));
  fc1 = register_module("fc1", make_linear(dim, dim_ffn, /*bias=*/false));
  fc2 = register_module("fc2", make_linear(dim_ffn, dim, /*bias=*/false));
}

at::Tensor T5FeedForwardImpl::forward(const at::Tensor& x) { return fc2(fc1(x) * at::gelu(gate->forward(x), "tanh")); }

at::Tensor relative_position_bucket(const at::Tensor& relative_position, int64_t num_buckets, int64_t max_distance) {
  const int64_t half = num_buckets / 2;  // one half per direction
  const int64_t max_exact = half / 2;
  at::Tensor bucket = (relative_position > 0).to(at::kLong) * half;
  const at::Tensor distance = relative_position.abs();
  // float32 log, truncated toward zero, exactly as the reference rounds it.
  const at::Tensor log_ratio =
      at::log(distance.to(at::kFloat) / max_exact) / std::log(static_cast<double>(max_distance) / max_exact);
  const at::Tensor large = at::clamp_max(max_exact + (log_ratio * (half - max_exact)).to(at::kLong), half - 1);
  return bucket + at::where(distance < max_exact, distance, large);
}

T5RelativeEmbeddingImpl::T5RelativeEmbeddingImpl(int64_t num_buckets, int64_t num_heads) : num_buckets_(num_buckets) {
  embedding = register_module("embedding", make_embedding(num_buckets, num_heads));
}

at::Tensor T5RelativeEmbeddingImpl::forward(int64_t query_length, int64_t key_length) {
  const auto opts = at::TensorOptions().dtype(at::kLong).device(embedding->weight.device());
  const at::Tensor relative = at::arange(key_length, opts).unsqueeze(0) - at::arange(query_length, opts).unsqueeze(1);
  const at::Tensor bias = embedding(relative_position_bucket(relative, num_buckets_));  // [Lq, Lk, heads]
  return bias.permute({2, 0, 1}).unsqueeze(0).contiguous();
}

T5SelfAttentionImpl::T5SelfAttentionImpl(const T5Config& c) {
  norm1 = register_module("norm1", T5LayerNorm(c.dim));
  attn = register_module("attn", T5Attention(c.dim, c.dim_attn, c.num_heads));
  norm2 = register_module("norm2", T5LayerNorm(c.dim));
  ffn = register_module("ffn", T5FeedForward(c.dim, c.dim_ffn));
  if (!c.shared_pos) pos_embedding = register_module("pos_embedding", T5RelativeEmbedding(c.num_buckets, c.num_heads));
}

at::Tensor T5SelfAttentionImpl::forward(const at::Tensor& x, const at::Tensor& key_mask,
                                        const at::Tensor& shared_bias) {
  const at::Tensor positions = pos_embedding ? pos_embedding(x.size(1), x.size(1)) : shared_bias;
  // Padded keys get the dtype's lowest value instead of their position bias.
  const at::Tensor bias =
      at::where(key_mask, positions.to(x.scalar_type()), at::scalar_tensor(lowest_value(x.scalar_type()), x.options()));
  at::Tensor h = clamp_fp16_overflow(x + attn(norm1(x), bias));
  return clamp_fp16_overflow(h + ffn(norm2(h)));
}

T5EncoderImpl::T5EncoderImpl(const T5Config& config, const at::TensorOptions& options, ParameterInit init)
    : config_(config) {
  config_.validate();
  const at::ScalarType dtype = c10::typeMetaToScalarType(options.dtype());
  std::optional<SkipParameterInit> skip_init;
  if (init == ParameterInit::Uninitialized) skip_init.emplace(options.device(), dtype);
  token_embedding = register_module("token_embedding", make_embedding(config_.vocab, config_.dim));
  if (config_.shared_pos)
    pos_embedding = register_module("pos_embedding", T5RelativeEmbedding(config_.num_buckets, config_.num_heads));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config_.num_layers; ++i) blocks->push_back(T5SelfAttention(config_));
  norm = register_module("norm", T5LayerNorm(config_.dim));
  to(options.device(), dtype);
}

at::Tensor T5EncoderImpl::forward(const at::Tensor& ids, const at::Tensor& mask) {
  if (ids.dim() != 2 || mask.sizes() != ids.sizes())
    throw Error("umT5: expected token ids and mask of the same shape [batch, length]");
  if (ids.scalar_type() != at::kLong && ids.scalar_type() != at::kInt) throw Error("umT5: token ids must be int64");
  if (ids.numel() > 0) {
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    if (lo < 0 || hi >= config_.vocab)
      throw Error("umT5: token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary of " +
                  std::to_string(config_.vocab) + " (tokenizer and checkpoint do not belong together?)");
  }
  const at::Device device = token_embedding->weight.device();
  const int64_t b = ids.size(0), l = ids.size(1);
  const at::Tensor key_mask = (mask.to(device) != 0).view({b, 1, 1, l});

  at::Tensor x = token_embedding(ids.to(device).to(at::kLong));
  const at::Tensor shared_bias = pos_embedding ? pos_embedding(l, l) : at::Tensor();
  for (const auto& block : *blocks) x = block->as<T5SelfAttention>()->forward(x, key_mask, shared_bias);
  return norm(x);
}

}  // namespace wan
