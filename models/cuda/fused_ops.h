// The DiT's fused elementwise operations on CUDA tensors (see fused_kernels.h
// for the math). available() is false in builds without our CUDA kernels;
// callers then take the plain libtorch path.
#pragma once
#include <ATen/ATen.h>

namespace wan::cuda {

bool fused_ops_available();

// x float32 [B, L, C]; shift, scale float32 [B, 1, C] -> bf16 [B, L, C].
at::Tensor modulated_layer_norm(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale, double eps);

// x bf16 [B, L, heads*head_dim]; weight float32 [heads*head_dim]; cos/sin float32 [L, head_dim/2];
// valid_rows int64 [B] on the device (rows past it are not rotated) -> bf16 [B, L, heads*head_dim].
at::Tensor rms_norm_rope(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& cos, const at::Tensor& sin,
                         const at::Tensor& valid_rows, int64_t heads, double eps);

// x += y * gate in place; x float32 [B, L, C], y bf16 [B, L, C], gate float32 [B, 1, C].
void gated_residual_(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate);

}  // namespace wan::cuda
