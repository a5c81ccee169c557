// One transformer block of the DiT: modulated self-attention, cross-attention to the
// conditioning tokens, modulated feed-forward network. One forward for every device and
// dtype: its steps (dit_ops.h, linear.h) pick the fused CUDA kernels where they apply.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <utility>
#include <vector>

#include "models/dit/dit_attention.h"
#include "models/dit/dit_config.h"
#include "models/dit/dit_embeddings.h"
#include "models/dit/kv_cache.h"
#include "models/dit/linear.h"
#include "models/dit/token_counts.h"

namespace wan::dit {

// What the causal DiT keeps of one block between chunks: its self-attention KV cache and
// the cross-attention's projections of the context.
struct BlockCache {
  explicit BlockCache(KVCache self_kv) : self_kv(std::move(self_kv)) {}
  KVCache self_kv;
  ContextKV context;
};

struct DiTBlockImpl : torch::nn::Module {
  explicit DiTBlockImpl(const DiTConfig& config);

  // x float32 [B, S, dim], the residual stream (updated in place when it is float32 and
  // contiguous: it belongs to WanModel::forward); time float32 [B, 6, dim] (the projected
  // time embedding), or [B, F, 6, dim] per frame (S = F x tokens per frame); context
  // [B, Lc, dim]. With `cache` (the causal DiT) x is one chunk starting at absolute token
  // start_token (see SelfAttention, CrossAttention).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& time, const TokenCounts& tokens,
                     const std::vector<RopeRotation>& rotations, const at::Tensor& context, BlockCache* cache = nullptr,
                     int64_t start_token = 0);
  void set_compute_dtype(at::ScalarType dtype);
  at::ScalarType compute_dtype() const { return self_attn->o->activation_dtype(); }
  // The fp8 fast mode: every linear layer of the block in e4m3 (see LinearImpl::quantize_fp8).
  void quantize_fp8(const at::Device& compute);
  // fc2(gelu(fc1(h))), fc2's bias pending; in fp8 fc1's bias and the GELU are applied by the
  // kernel that quantises fc2's input.
  Projection feed_forward(const at::Tensor& h);

  double eps;
  SelfAttention self_attn{nullptr};
  torch::nn::LayerNorm norm3{nullptr};  // affine norm before cross-attention (cross_attn_norm)
  CrossAttention cross_attn{nullptr};
  torch::nn::Sequential ffn{nullptr};  // Linear, GELU (tanh), Linear: the checkpoint's ffn.0 and ffn.2
  at::Tensor modulation;               // [1, 6, dim], float32

 private:
  LinearImpl* fc1() { return ffn[0]->as<LinearImpl>(); }
  LinearImpl* fc2() { return ffn[2]->as<LinearImpl>(); }
};
TORCH_MODULE(DiTBlock);

}  // namespace wan::dit
