// The DiT's fused elementwise operations on CUDA tensors (see fused_kernels.h
// for the math). available() is false in builds without our CUDA kernels;
// callers then take the plain libtorch path.
#pragma once
#include <ATen/ATen.h>

namespace wan::cuda {

bool fused_ops_available();

// x float32 [B, L, C]; shift, scale float32 [B, 1, C] -> bf16 [B, L, C].
at::Tensor modulated_layer_norm(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale, double eps);

// The residual add feeding the next norm, in the same pass: x += (y + y_bias) * gate
// (gate undefined = 1, y_bias undefined = 0) in place, then modulated_layer_norm(x, shift,
// scale). y bf16 [B, L, C]; y_bias bf16 [C], the bias of the layer that made y (linear
// layers here run without theirs: a separate bias pass over y costs more than the GEMM's tail).
at::Tensor add_modulated_layer_norm(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, const at::Tensor& shift,
                                    const at::Tensor& scale, double eps, const at::Tensor& y_bias = at::Tensor());

// x bf16 [B, L, heads*head_dim]; weight float32 [heads*head_dim]; cos/sin float32 [L, head_dim/2];
// valid_rows int64 [B] on the device (rows past it are not rotated; the tables need
// max_valid_rows rows) -> bf16 [B, L, heads*head_dim]. Without cos/sin (undefined) nothing
// is rotated: the plain RMSNorm of cross-attention. x_bias (bf16 [heads*head_dim] or
// undefined) is added to x first, as the bias of the linear layer that made x.
at::Tensor rms_norm_rope(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& cos, const at::Tensor& sin,
                         const at::Tensor& valid_rows, int64_t max_valid_rows, int64_t heads, double eps,
                         const at::Tensor& x_bias = at::Tensor());

// x += y * gate in place, then LayerNorm with affine weight and bias (float32 statistics)
// -> bf16; x float32 [B, L, C].
at::Tensor add_layer_norm_affine(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, const at::Tensor& weight,
                                 const at::Tensor& bias, double eps, const at::Tensor& y_bias = at::Tensor());

// x += (y + y_bias) * gate in place; x float32 [B, L, C], y bf16 [B, L, C], gate float32
// [B, 1, C], y_bias bf16 [C] or undefined.
void gated_residual_(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate,
                     const at::Tensor& y_bias = at::Tensor());

}  // namespace wan::cuda
