// Launcher of the VAE's three-way sum kernel (sum_kernel.cu): the residual
// block's output, the two terms of its last convolution plus the skip path,
// in one pass. Raw pointers only, like channel_rms_norm_kernel.h.
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace wan::cuda {

// a[i] = (a[i] + b[i]) + c[i] for i < n (float32; the order of the unfused adds).
void launch_add_two_in_place(float* a, const float* b, const float* c, int64_t n, cudaStream_t stream);

}  // namespace wan::cuda
