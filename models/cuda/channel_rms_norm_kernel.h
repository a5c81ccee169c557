// Launcher of the VAE's fused RMS_norm + SiLU CUDA kernel (channel_rms_norm_kernel.cu).
// Raw pointers only, so the .cu file needs no libtorch headers; vae_ops.cpp checks
// the tensors and calls it on the current stream.
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace wan::cuda {

// For every position p of a channels-last float32 video or image (C channels
// contiguous per position): y = x / max(||x||_2, 1e-12) * sqrt(C) * gamma, then
// out = y * sigmoid(y) when `silu`; with `plus` (laid out like x) and/or a
// per-channel `bias`, (x + plus) + bias stands for x. Positions are numbered
// p = outer * inner + i (outer: batch, inner: frames * height * width); x and
// out start the outer index `*_outer_stride` floats apart and are C floats
// apart within it, so out may be a time slot of a bigger buffer. C a multiple
// of 4, pointers 16-byte aligned.
void launch_channel_rms_norm(const float* x, const float* plus, const float* bias, int64_t x_outer_stride,
                             const float* gamma, float* out, int64_t out_outer_stride, int64_t outer, int64_t inner,
                             int64_t channels, bool silu, cudaStream_t stream);

}  // namespace wan::cuda
