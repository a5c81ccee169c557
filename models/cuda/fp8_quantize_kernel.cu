// Row-wise (per-token) e4m3 quantisation of an activation in one read and one write: the
// scale is the row's own, so no pass over the whole tensor precedes the cast.
#include "models/cuda/fp8_quantize_kernel.h"

#include <cuda_bf16.h>
#include <cuda_fp8.h>

namespace wan::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kVector = 8;  // bf16 values per 16-byte load

__device__ __forceinline__ float bf16_to_float(uint16_t v) { return __uint_as_float(static_cast<uint32_t>(v) << 16); }

__device__ __forceinline__ float round_to_bf16(float v) {
  return bf16_to_float(__bfloat16_as_ushort(__float2bfloat16_rn(v)));
}

__device__ __forceinline__ float gelu_tanh(float v) {
  // PyTorch's order of operations (the cube first), so the bf16 rounding that follows agrees.
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  const float cube = v * v * v;
  return 0.5f * v * (1.f + tanhf(kSqrt2OverPi * (v + 0.044715f * cube)));
}

// The eight values of x starting at column c, bias and GELU applied.
template <bool kGelu>
__device__ __forceinline__ void load8(const uint16_t* __restrict__ xr, const uint16_t* __restrict__ bias, int64_t c,
                                      float (&v)[kVector]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(xr + c);
  const uint16_t* h = reinterpret_cast<const uint16_t*>(&raw);
  uint4 braw = make_uint4(0, 0, 0, 0);
  if (bias) braw = *reinterpret_cast<const uint4*>(bias + c);
  const uint16_t* b = reinterpret_cast<const uint16_t*>(&braw);
#pragma unroll
  for (int i = 0; i < kVector; ++i) {
    float f = bf16_to_float(h[i]);
    // Each step rounded to bf16 as the bf16 tensors of the plain path are (bias add, GELU):
    // the codes then match its quantisation but for rare ties.
    if (bias) f = round_to_bf16(f + bf16_to_float(b[i]));
    v[i] = kGelu ? round_to_bf16(gelu_tanh(f)) : f;
  }
}

__device__ float block_max(float v) {
  __shared__ float partial[kThreads / 32];
  __shared__ float total;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffff, v, o));
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    float p = threadIdx.x < kThreads / 32 ? partial[threadIdx.x] : 0.f;
    for (int o = 16; o > 0; o >>= 1) p = fmaxf(p, __shfl_xor_sync(0xffffffff, p, o));
    if (threadIdx.x == 0) total = p;
  }
  __syncthreads();
  return total;
}

template <bool kGelu>
__global__ void quantize_rows_kernel(const uint16_t* __restrict__ x, int64_t x_row_stride,
                                     const uint16_t* __restrict__ bias, uint8_t* __restrict__ out,
                                     float* __restrict__ scales, int64_t dim) {
  const int64_t row = blockIdx.x;
  const uint16_t* xr = x + row * x_row_stride;
  float amax = 0.f;
  float v[kVector];
  for (int64_t c = static_cast<int64_t>(threadIdx.x) * kVector; c < dim; c += kThreads * kVector) {
    load8<kGelu>(xr, bias, c, v);
#pragma unroll
    for (int i = 0; i < kVector; ++i) amax = fmaxf(amax, fabsf(v[i]));
  }
  amax = block_max(amax);
  // A row of zeros keeps a finite scale; its codes are all zero anyway.
  // amax times the float reciprocal of 448, as libtorch divides a tensor by a scalar (on CUDA a
  // product with the scalar's reciprocal): the same scales as the plain quantisation, to the bit.
  const float scale = fmaxf(amax, 1e-12f) * (1.f / kE4M3Max);
  if (threadIdx.x == 0) scales[row] = scale;
  uint8_t* o = out + row * dim;
  // The row is read again from cache: it was just read, and recomputing is cheaper than
  // holding a variable number of values per thread.
  for (int64_t c = static_cast<int64_t>(threadIdx.x) * kVector; c < dim; c += kThreads * kVector) {
    load8<kGelu>(xr, bias, c, v);
    uint32_t packed[kVector / 2];
#pragma unroll
    for (int i = 0; i < kVector / 2; ++i)
      packed[i] =
          __nv_cvt_float2_to_fp8x2(make_float2(v[2 * i] / scale, v[2 * i + 1] / scale), __NV_SATFINITE, __NV_E4M3);
    *reinterpret_cast<uint2*>(o + c) = make_uint2(packed[0] | (packed[1] << 16), packed[2] | (packed[3] << 16));
  }
}

}  // namespace

void launch_quantize_rows_e4m3(const uint16_t* x, int64_t x_row_stride, const uint16_t* bias, bool gelu, uint8_t* out,
                               float* scales, int64_t rows, int64_t dim, cudaStream_t stream) {
  if (rows == 0) return;
  if (gelu)
    quantize_rows_kernel<true><<<rows, kThreads, 0, stream>>>(x, x_row_stride, bias, out, scales, dim);
  else
    quantize_rows_kernel<false><<<rows, kThreads, 0, stream>>>(x, x_row_stride, bias, out, scales, dim);
}

}  // namespace wan::cuda
