// Elementwise passes of the fp8 attention: each thread handles eight channels of one token
// (one 16-byte bf16 load), so every load and store is vectorised.
#include "models/cuda/fp8_attention_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>

#include "models/cuda/fp8_quantize_kernel.h"  // kE4M3Max

namespace wan::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kVector = 8;

__device__ __forceinline__ float bf16_to_float(uint16_t v) { return __uint_as_float(static_cast<uint32_t>(v) << 16); }

// Grid-stride loop over groups of eight values; `group` is the group's first element index.
#define FOR_EACH_GROUP(total, group)                                                                           \
  for (int64_t group = (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x) * kVector; group < (total); \
       group += static_cast<int64_t>(gridDim.x) * kThreads * kVector)

// The offsets of the eight channels starting at element `i` of a [batch, len, channels] tensor.
__device__ __forceinline__ const float* offsets_at(const float* offset, int64_t i, int64_t len, int64_t channels) {
  const int64_t batch = i / (len * channels);
  return offset + batch * channels + i % channels;
}

__device__ __forceinline__ void load_minus_offset(const uint16_t* x, const float* offset, int64_t i, int64_t len,
                                                  int64_t channels, float (&v)[kVector]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(x + i);
  const uint16_t* h = reinterpret_cast<const uint16_t*>(&raw);
  const float* off = offset ? offsets_at(offset, i, len, channels) : nullptr;
#pragma unroll
  for (int j = 0; j < kVector; ++j) v[j] = bf16_to_float(h[j]) - (off ? off[j] : 0.f);
}

__global__ void amax_kernel(const uint16_t* __restrict__ x, const float* __restrict__ offset, int64_t total,
                            int64_t len, int64_t channels, float* __restrict__ amax) {
  float m = 0.f;
  float v[kVector];
  FOR_EACH_GROUP(total, i) {
    load_minus_offset(x, offset, i, len, channels, v);
#pragma unroll
    for (int j = 0; j < kVector; ++j) m = fmaxf(m, fabsf(v[j]));
  }
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
  // Non-negative floats order as their bit patterns do.
  if (threadIdx.x % 32 == 0) atomicMax(reinterpret_cast<unsigned int*>(amax), __float_as_uint(m));
}

__global__ void quantize_kernel(const uint16_t* __restrict__ x, const float* __restrict__ offset, int64_t total,
                                int64_t len, int64_t channels, const float* __restrict__ amax,
                                uint8_t* __restrict__ out) {
  const float scale = *amax > 0.f ? kE4M3Max / *amax : 0.f;
  float v[kVector];
  FOR_EACH_GROUP(total, i) {
    load_minus_offset(x, offset, i, len, channels, v);
    uint32_t packed[kVector / 2];
#pragma unroll
    for (int j = 0; j < kVector / 2; ++j)
      packed[j] =
          __nv_cvt_float2_to_fp8x2(make_float2(v[2 * j] * scale, v[2 * j + 1] * scale), __NV_SATFINITE, __NV_E4M3);
    *reinterpret_cast<uint2*>(out + i) = make_uint2(packed[0] | (packed[1] << 16), packed[2] | (packed[3] << 16));
  }
}

__global__ void dequantize_kernel(const uint8_t* __restrict__ x, const float* __restrict__ offset, int64_t total,
                                  int64_t len, int64_t channels, const float* __restrict__ amax,
                                  uint16_t* __restrict__ out) {
  const float descale = *amax / kE4M3Max;
  FOR_EACH_GROUP(total, i) {
    const uint2 raw = *reinterpret_cast<const uint2*>(x + i);
    const uint8_t* codes = reinterpret_cast<const uint8_t*>(&raw);
    const float* off = offset ? offsets_at(offset, i, len, channels) : nullptr;
    alignas(16) uint16_t packed[kVector];
#pragma unroll
    for (int j = 0; j < kVector; ++j) {
      const __half_raw h = __nv_cvt_fp8_to_halfraw(codes[j], __NV_E4M3);
      const float f = __half2float(__half(h)) * descale + (off ? off[j] : 0.f);
      packed[j] = __bfloat16_as_ushort(__float2bfloat16_rn(f));
    }
    *reinterpret_cast<uint4*>(out + i) = *reinterpret_cast<const uint4*>(packed);
  }
}

int blocks_for(int64_t total) {
  const int64_t groups = (total + kVector - 1) / kVector;
  return static_cast<int>(std::min<int64_t>((groups + kThreads - 1) / kThreads, 132 * 16));
}

}  // namespace

void launch_amax_minus_offset(const uint16_t* x, const float* offset, int64_t batch, int64_t len, int64_t channels,
                              float* amax, cudaStream_t stream) {
  const int64_t total = batch * len * channels;
  if (total == 0) return;
  amax_kernel<<<blocks_for(total), kThreads, 0, stream>>>(x, offset, total, len, channels, amax);
}

void launch_quantize_minus_offset(const uint16_t* x, const float* offset, int64_t batch, int64_t len, int64_t channels,
                                  const float* amax, uint8_t* out, cudaStream_t stream) {
  const int64_t total = batch * len * channels;
  if (total == 0) return;
  quantize_kernel<<<blocks_for(total), kThreads, 0, stream>>>(x, offset, total, len, channels, amax, out);
}

void launch_dequantize_plus_offset(const uint8_t* x, const float* offset, int64_t batch, int64_t len, int64_t channels,
                                   const float* amax, uint16_t* out, cudaStream_t stream) {
  const int64_t total = batch * len * channels;
  if (total == 0) return;
  dequantize_kernel<<<blocks_for(total), kThreads, 0, stream>>>(x, offset, total, len, channels, amax, out);
}

}  // namespace wan::cuda
