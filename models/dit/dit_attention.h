// Attention layers of a DiT block: self-attention over the video tokens (with RoPE) and
// cross-attention to the text tokens, plus the image tokens for i2v / flf2v. Both return
// their output projection with its bias possibly pending (see linear.h): the block's
// residual step adds it.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "models/dit/dit_embeddings.h"
#include "models/dit/kv_cache.h"
#include "models/dit/linear.h"
#include "models/dit/self_attention_kind.h"
#include "models/dit/token_counts.h"

namespace wan::dit {

// x * rsqrt(mean(x^2) + eps) * weight over the last axis (all heads together), in float32.
struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x) const;

  at::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

struct SelfAttentionImpl : torch::nn::Module {
  SelfAttentionImpl(int64_t dim, int64_t num_heads, bool qk_norm, double eps);
  // x [B, S, dim] in the layers' dtype; tokens: the real (non-padding) tokens per sample,
  // which alone serve as keys. With a KV cache (the causal DiT: x is one chunk, unpadded,
  // its first token at absolute index start_token) the chunk's keys and values are written
  // into it and the queries attend to all of its valid slots.
  Projection forward(const at::Tensor& x, const TokenCounts& tokens, const std::vector<RopeRotation>& rotations,
                     KVCache* cache = nullptr, int64_t start_token = 0);
  void set_compute_dtype(at::ScalarType dtype);
  // q, k and v as one [3 dim, dim] weight and [3 dim] bias, for one GEMM instead of three.
  // Re-points the three parameters into one buffer when they are not back to back already
  // (the first call, or after to() moved them apart; the block swapper keeps them together);
  // they stay views under their own names, so loading still works.
  std::pair<at::Tensor, at::Tensor> stacked_qkv();
  // fp8: q, k and v quantised as one stacked matrix (their scales stacked alike), and o.
  void quantize_fp8(const at::Device& compute);

  // x's q, k and v projections (biases possibly pending).
  std::array<Projection, 3> project_qkv(const at::Tensor& x);

  int64_t num_heads;
  Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  RMSNorm norm_q{nullptr}, norm_k{nullptr};  // empty without qk_norm
  // The exact attention or one of the 8-bit kernels.
  SelfAttentionKind kind = SelfAttentionKind::exact;
};
TORCH_MODULE(SelfAttention);

// The cross-attention's projections of one context, kept by the causal DiT across calls
// (the context is the same until the prompt changes).
struct ContextKV {
  at::Tensor k, v;          // text [B, text_len, heads, head_dim]
  at::Tensor k_img, v_img;  // image tokens (i2v / flf2v)
  bool empty() const { return !k.defined(); }
};

// Unmasked cross-attention to the context. With image tokens (i2v, flf2v) the context is
// [image tokens | text_len text tokens]; both parts are attended separately and summed.
struct CrossAttentionImpl : torch::nn::Module {
  CrossAttentionImpl(int64_t dim, int64_t num_heads, bool qk_norm, double eps, bool image_tokens, int64_t text_len);
  // x [B, S, dim] in the layers' dtype (already normalised). With `kv`, the context's
  // projections come from it, or, while it is empty, are computed and kept in it (context
  // is then unused once kv is filled).
  Projection forward(const at::Tensor& x, const at::Tensor& context, ContextKV* kv = nullptr);
  void set_compute_dtype(at::ScalarType dtype);

  int64_t num_heads;
  int64_t text_len;
  Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  RMSNorm norm_q{nullptr}, norm_k{nullptr};
  Linear k_img{nullptr}, v_img{nullptr};  // image branch only
  RMSNorm norm_k_img{nullptr};
};
TORCH_MODULE(CrossAttention);

}  // namespace wan::dit
