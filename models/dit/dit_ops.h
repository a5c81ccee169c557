// The elementwise steps of a DiT block. Each runs as one fused CUDA kernel where that
// applies (our kernels built, the residual stream float32 on CUDA, activations in bf16) and
// as the reference's plain libtorch math otherwise, so the block has a single forward.
// x is the block's float32 residual stream [B, L, C], updated in place; shift, scale and
// gate are float32 [B, 1, C] rows of the modulation, or [B, F, 1, C] per frame (the causal
// DiT: x then holds F frames of equal token counts).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <vector>

#include "models/dit/dit_attention.h"
#include "models/dit/dit_embeddings.h"
#include "models/dit/linear.h"
#include "models/dit/token_counts.h"

namespace wan::dit {

// LayerNorm(x) * (1 + scale) + shift (no affine weights, float32 statistics), in `dtype`,
// the next linear layer's.
at::Tensor modulated_norm(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale, double eps,
                          at::ScalarType dtype);

// x += y * gate, y's pending bias added first.
void gated_residual_(at::Tensor& x, const Projection& y, const at::Tensor& gate);

// x += y * gate (gate undefined: 1), then modulated_norm(x, shift, scale, eps, dtype).
at::Tensor add_modulated_norm(at::Tensor& x, const Projection& y, const at::Tensor& gate, const at::Tensor& shift,
                              const at::Tensor& scale, double eps, at::ScalarType dtype);

// x += y * gate, then the affine LayerNorm `norm` (cross_attn_norm), in `dtype`.
at::Tensor add_affine_norm(at::Tensor& x, const Projection& y, const at::Tensor& gate,
                           const torch::nn::LayerNormImpl& norm, at::ScalarType dtype);

// RMSNorm over all heads of a projection (its pending bias added first; `norm` empty: no
// norm), then the rotary embedding of each sample (`rotations` null: none) -> the
// [B, L, heads, head_dim] query or key for attention.
at::Tensor qk_norm_rope(const Projection& p, const RMSNorm& norm, int64_t heads,
                        const std::vector<RopeRotation>* rotations = nullptr, const TokenCounts* tokens = nullptr);

}  // namespace wan::dit
