// The VAE's fused operations on CUDA tensors (see channel_rms_norm_kernel.h for
// the math). Where they do not apply (CPU, other dtypes or layouts, builds
// without our CUDA kernels), callers take the plain libtorch path.
#pragma once
#include <ATen/ATen.h>

namespace wan::cuda {

// Whether channel_rms_norm takes x: a float32 CUDA video [B, C, T, H, W] or image
// [B, C, H, W] in channels-last memory, C a multiple of 4 up to 1024.
bool channel_rms_norm_applies(const at::Tensor& x);

// The VAE's RMS_norm over the channels, x / max(||x||, 1e-12) * sqrt(C) * gamma,
// followed by SiLU when `silu`, in one pass; the result has x's shape and layout.
at::Tensor channel_rms_norm(const at::Tensor& x, const at::Tensor& gamma, bool silu);

}  // namespace wan::cuda
