// One transformer block of the DiT: modulated self-attention, cross-attention to the
// conditioning tokens, modulated feed-forward network.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "models/dit/dit_attention.h"
#include "models/dit/dit_embeddings.h"
#include "models/dit/token_counts.h"
#include "models/dit_config.h"

namespace wan::dit {

struct DiTBlockImpl : torch::nn::Module {
  explicit DiTBlockImpl(const DiTConfig& config);

  // x float32 [B, S, dim] (the residual stream stays float32); time float32 [B, 6, dim]
  // (the projected time embedding); context [B, Lc, dim].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& time, const TokenCounts& tokens,
                     const std::vector<RopeRotation>& rotations, const at::Tensor& context);
  void set_compute_dtype(at::ScalarType dtype);

  // The CUDA fast path (dit_block_fused.cpp): same math with our fused kernels for the
  // elementwise chains; taken for bf16 blocks on CUDA when every sample has one grid.
  // Updates a float32 x in place (the residual stream belongs to WanModel::forward).
  bool can_run_fused(const at::Tensor& x, const std::vector<RopeRotation>& rotations) const;
  at::Tensor forward_fused(const at::Tensor& x, const at::Tensor& time, const TokenCounts& tokens,
                           const std::vector<RopeRotation>& rotations, const at::Tensor& context);

  double eps;
  SelfAttention self_attn{nullptr};
  torch::nn::LayerNorm norm3{nullptr};  // affine norm before cross-attention (cross_attn_norm)
  CrossAttention cross_attn{nullptr};
  torch::nn::Sequential ffn{nullptr};  // Linear, GELU (tanh), Linear
  at::Tensor modulation;               // [1, 6, dim], float32
};
TORCH_MODULE(DiTBlock);

}  // namespace wan::dit
