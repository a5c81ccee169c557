// Element-wise float4 arithmetic for the kernels that read four channels at a time.
#pragma once
#include <cuda_runtime.h>

namespace wan::cuda {

__device__ inline float4 operator+(float4 x, float4 y) {
  return make_float4(x.x + y.x, x.y + y.y, x.z + y.z, x.w + y.w);
}

}  // namespace wan::cuda
