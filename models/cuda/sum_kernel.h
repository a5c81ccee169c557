// Launcher of the VAE's residual sum kernel (sum_kernel.cu): a residual
// block's output, the terms of its last convolution plus the skip path, in
// one pass. Raw pointers only, like channel_rms_norm_kernel.h.
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace wan::cuda {

// a[i] = ((a[i] + b[i]) + bias[i % channels]) + skip[i] for i < n, float32, in
// the order of the unfused adds; b and bias may be null (left out). a, b and
// skip are laid out alike with the channels innermost (channels-last).
void launch_residual_sum(float* a, const float* b, const float* bias, const float* skip, int64_t n, int64_t channels,
                         cudaStream_t stream);

}  // namespace wan::cuda
