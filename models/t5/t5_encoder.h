// The umT5 encoder Wan conditions on (T5Encoder of the reference): pre-norm
// blocks with unscaled attention plus a learned relative-position bias, a
// gated tanh-GELU feed-forward, RMS-style layer norms.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "models/common/parameter_init.h"
#include "models/t5/t5_config.h"

namespace wan {

// x * rsqrt(mean(x^2) + eps) * weight: no centring, no bias.
class T5LayerNormImpl : public torch::nn::Module {
 public:
  explicit T5LayerNormImpl(int64_t dim, double eps = 1e-6);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(T5LayerNorm);

// Multi-head self-attention without the 1/sqrt(d) scaling (T5 folds it into
// the initialisation); `bias` [B or 1, heads, L, L] carries positions and mask.
class T5AttentionImpl : public torch::nn::Module {
 public:
  T5AttentionImpl(int64_t dim, int64_t dim_attn, int64_t num_heads);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias);

  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};

 private:
  int64_t num_heads_;
};
TORCH_MODULE(T5Attention);

// fc2(fc1(x) * gelu_tanh(gate(x))).
class T5FeedForwardImpl : public torch::nn::Module {
 public:
  T5FeedForwardImpl(int64_t dim, int64_t dim_ffn);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Sequential gate{nullptr};  // the checkpoint's "gate.0" (the GELU has no weights)
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(T5FeedForward);

// The bidirectional bucket of each relative distance key - query, as T5
// computes it: exact for small distances, logarithmic up to max_dist, then
// clamped; positive and negative distances use separate halves of the buckets.
at::Tensor relative_position_bucket(const at::Tensor& relative_position, int64_t num_buckets,
                                    int64_t max_distance = 128);

// A learned bias per (bucket, head): bias [1, heads, Lq, Lk].
class T5RelativeEmbeddingImpl : public torch::nn::Module {
 public:
  T5RelativeEmbeddingImpl(int64_t num_buckets, int64_t num_heads);
  at::Tensor forward(int64_t query_length, int64_t key_length);

  torch::nn::Embedding embedding{nullptr};

 private:
  int64_t num_buckets_;
};
TORCH_MODULE(T5RelativeEmbedding);

// x + attn(norm1(x)), then x + ffn(norm2(x)); owns its position table unless shared.
class T5SelfAttentionImpl : public torch::nn::Module {
 public:
  explicit T5SelfAttentionImpl(const T5Config& config);
  // key_mask [B, 1, 1, L] (true = real token); shared_bias when the encoder owns the table.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& key_mask, const at::Tensor& shared_bias);

  T5LayerNorm norm1{nullptr}, norm2{nullptr};
  T5Attention attn{nullptr};
  T5FeedForward ffn{nullptr};
  T5RelativeEmbedding pos_embedding{nullptr};
};
TORCH_MODULE(T5SelfAttention);

class T5EncoderImpl : public torch::nn::Module {
 public:
  // Parameters end up on options' device in its dtype; Uninitialized allocates
  // them there directly (for weights loaded next), Random initialises on the CPU.
  explicit T5EncoderImpl(const T5Config& config, const at::TensorOptions& options = {},
                         ParameterInit init = ParameterInit::Random);

  // ids [B, L] int64 token ids, mask [B, L] (1 = token, 0 = padding) ->
  // hidden states [B, L, dim], padded rows included. Padded keys are ignored;
  // padded queries are computed anyway, as in the reference.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask);

  const T5Config& config() const { return config_; }

  torch::nn::Embedding token_embedding{nullptr};
  T5RelativeEmbedding pos_embedding{nullptr};  // only with shared_pos
  torch::nn::ModuleList blocks{nullptr};
  T5LayerNorm norm{nullptr};

 private:
  T5Config config_;
};
TORCH_MODULE(T5Encoder);

}  // namespace wan
