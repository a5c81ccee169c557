#include "models/cuda/sum_kernel.h"

#include <algorithm>

#include "models/cuda/float4_ops.cuh"

namespace wan::cuda {

namespace {

constexpr int kThreads = 256;

// T = float4 reads four channels at a time (channels % 4 == 0, 16-byte aligned
// pointers; counts in float4s), T = float one.
template <typename T>
__global__ void residual_sum_kernel(T* __restrict__ a, const T* __restrict__ b, const T* __restrict__ bias,
                                    const T* __restrict__ skip, int64_t n, int64_t channels) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    T x = a[i];
    if (b) x = x + b[i];
    if (bias) x = x + bias[i % channels];
    a[i] = x + skip[i];
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

int blocks_for(int64_t items) {
  // Enough blocks to fill the GPU several times over; the loops stride over the rest.
  return static_cast<int>(std::min<int64_t>((items + kThreads - 1) / kThreads, 65535));
}

}  // namespace

void launch_residual_sum(float* a, const float* b, const float* bias, const float* skip, int64_t n, int64_t channels,
                         cudaStream_t stream) {
  if (n == 0) return;
  if (channels % 4 == 0 && n % 4 == 0 && aligned16(a) && aligned16(b) && aligned16(bias) && aligned16(skip)) {
    residual_sum_kernel<float4><<<blocks_for(n / 4), kThreads, 0, stream>>>(
        reinterpret_cast<float4*>(a), reinterpret_cast<const float4*>(b), reinterpret_cast<const float4*>(bias),
        reinterpret_cast<const float4*>(skip), n / 4, channels / 4);
  } else {
    residual_sum_kernel<float><<<blocks_for(n), kThreads, 0, stream>>>(a, b, bias, skip, n, channels);
  }
}

}  // namespace wan::cuda
