// The VAE's fused operations on CUDA tensors (see channel_rms_norm_kernel.h for
// the math). Where they do not apply (CPU, other dtypes or layouts, builds
// without our CUDA kernels), callers take the plain libtorch path.
#pragma once
#include <ATen/ATen.h>

namespace wan::cuda {

// Whether channel_rms_norm takes x: a float32 CUDA video [B, C, T, H, W] or image
// [B, C, H, W] in channels-last memory, C a multiple of 4 up to 1024; `plus`,
// when given: a float32 CUDA tensor of x's shape and strides; `bias`, when
// given: C contiguous float32 values on CUDA.
bool channel_rms_norm_applies(const at::Tensor& x, const at::Tensor& plus = {}, const at::Tensor& bias = {});

// The VAE's RMS_norm over the channels, x / max(||x||, 1e-12) * sqrt(C) * gamma,
// followed by SiLU when `silu`, in one pass; the result has x's shape and layout.
// With `plus` and/or `bias` (the other terms of a convolution computed in
// parts), the norm of (x + plus) + bias, summed as it is read.
at::Tensor channel_rms_norm(const at::Tensor& x, const at::Tensor& gamma, bool silu, const at::Tensor& plus = {},
                            const at::Tensor& bias = {});

// Whether residual_sum_ takes its arguments: float32 CUDA tensors, `out` in
// channels-last memory, `plus` (optional) and `skip` of its shape and layout,
// `bias` (optional) C contiguous values.
bool residual_sum_applies(const at::Tensor& out, const at::Tensor& plus, const at::Tensor& bias,
                          const at::Tensor& skip);

// out = ((out + plus) + bias) + skip in one pass (a residual block's last
// convolution, in parts, plus its skip path); returns out.
at::Tensor& residual_sum_(at::Tensor& out, const at::Tensor& plus, const at::Tensor& bias, const at::Tensor& skip);

}  // namespace wan::cuda
