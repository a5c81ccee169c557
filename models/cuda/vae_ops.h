// The VAE's fused operations on CUDA tensors (see channel_rms_norm_kernel.h for
// the math). Where they do not apply (CPU, other dtypes or layouts, builds
// without our CUDA kernels), callers take the plain libtorch path.
#pragma once
#include <ATen/ATen.h>

namespace wan::cuda {

// Whether channel_rms_norm takes x: a float32 CUDA video [B, C, T, H, W] or image
// [B, C, H, W] in channels-last memory, C a multiple of 4 up to 1024; and `plus`,
// when given: a float32 CUDA tensor of x's shape and strides.
bool channel_rms_norm_applies(const at::Tensor& x, const at::Tensor& plus = {});

// The VAE's RMS_norm over the channels, x / max(||x||, 1e-12) * sqrt(C) * gamma,
// followed by SiLU when `silu`, in one pass; the result has x's shape and layout.
// With `plus` (same shape and strides as x), the norm of x + plus, summed as it is read.
at::Tensor channel_rms_norm(const at::Tensor& x, const at::Tensor& gamma, bool silu, const at::Tensor& plus = {});

// Whether add_two_ takes a, b, c: float32 CUDA tensors of one shape, laid out
// alike without gaps or overlaps.
bool add_two_applies(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c);

// a = (a + b) + c in one pass; returns a.
at::Tensor& add_two_(at::Tensor& a, const at::Tensor& b, const at::Tensor& c);

}  // namespace wan::cuda
