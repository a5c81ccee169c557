// Fused elementwise chains of the DiT block, so each activation is read and
// written once instead of once per PyTorch operator.
#include "models/cuda/fused_kernels.h"

#include <cuda_bf16.h>

namespace wan::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float bf16_to_float(uint16_t v) { return __uint_as_float(static_cast<uint32_t>(v) << 16); }

__device__ __forceinline__ uint16_t float_to_bf16(float f) {
  __nv_bfloat16 b = __float2bfloat16_rn(f);
  return *reinterpret_cast<uint16_t*>(&b);
}

// Sum of `v` over the block; every thread gets the result.
__device__ float block_sum(float v) {
  __shared__ float partial[kThreads / 32];
  __shared__ float total;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    float p = threadIdx.x < kThreads / 32 ? partial[threadIdx.x] : 0.f;
    for (int o = 16; o > 0; o >>= 1) p += __shfl_xor_sync(0xffffffff, p, o);
    if (threadIdx.x == 0) total = p;
  }
  __syncthreads();
  const float r = total;
  __syncthreads();  // `partial` and `total` are reused by the next call
  return r;
}

// Optionally x += (y + y_bias) * gate first (y bf16; y_bias null = 0, gate null = 1),
// written back; then
// out = bf16(LayerNorm(x) * (1 + scale) + shift). Each thread touches the same
// columns in every pass, so its own writes are what it reads back.
__global__ void add_modulated_layer_norm_kernel(float* __restrict__ x, const uint16_t* __restrict__ y,
                                                const uint16_t* __restrict__ y_bias, const float* __restrict__ gate,
                                                const float* __restrict__ shift, const float* __restrict__ scale,
                                                uint16_t* __restrict__ out, int64_t rows_per_batch, int64_t dim,
                                                float eps) {
  const int64_t row = blockIdx.x;
  const int64_t b = row / rows_per_batch;
  float* xr = x + row * dim;
  float s = 0.f;
  if (y) {
    const uint16_t* yr = y + row * dim;
    const float* g = gate ? gate + b * dim : nullptr;
    for (int64_t c = threadIdx.x; c < dim; c += kThreads) {
      const float yv = bf16_to_float(yr[c]) + (y_bias ? bf16_to_float(y_bias[c]) : 0.f);
      const float v = xr[c] + yv * (g ? g[c] : 1.f);
      xr[c] = v;
      s += v;
    }
  } else {
    for (int64_t c = threadIdx.x; c < dim; c += kThreads) s += xr[c];
  }
  const float mean = block_sum(s) / dim;
  float v = 0.f;
  for (int64_t c = threadIdx.x; c < dim; c += kThreads) {
    const float d = xr[c] - mean;
    v += d * d;
  }
  const float rstd = rsqrtf(block_sum(v) / dim + eps);
  const float* sh = shift + b * dim;
  const float* sc = scale + b * dim;
  uint16_t* o = out + row * dim;
  for (int64_t c = threadIdx.x; c < dim; c += kThreads)
    o[c] = float_to_bf16((xr[c] - mean) * rstd * (1.f + sc[c]) + sh[c]);
}

__global__ void rms_norm_rope_kernel(const uint16_t* __restrict__ x, int64_t x_row_stride,
                                     const uint16_t* __restrict__ x_bias, const float* __restrict__ weight,
                                     const float* __restrict__ cos, const float* __restrict__ sin,
                                     const int64_t* __restrict__ valid_rows, uint16_t* __restrict__ out,
                                     int64_t rows_per_batch, int64_t heads, int64_t head_dim, float eps) {
  const int64_t row = blockIdx.x;
  const int64_t b = row / rows_per_batch, l = row % rows_per_batch;
  const int64_t dim = heads * head_dim, half = head_dim / 2;
  const uint16_t* xr = x + row * x_row_stride;
  float ss = 0.f;
  // The input with its linear layer's bias, rounded to bf16 as that layer's output would be.
  const auto input = [&](int64_t c) {
    return x_bias ? bf16_to_float(float_to_bf16(bf16_to_float(xr[c]) + bf16_to_float(x_bias[c])))
                  : bf16_to_float(xr[c]);
  };
  for (int64_t c = threadIdx.x; c < dim; c += kThreads) {
    const float f = input(c);
    ss += f * f;
  }
  const float r = rsqrtf(block_sum(ss) / dim + eps);
  const bool rotate = l < valid_rows[b];  // cos / sin may be null when no row rotates
  uint16_t* o = out + row * dim;
  for (int64_t p = threadIdx.x; p < dim / 2; p += kThreads) {  // one interleaved channel pair
    const int64_t c = 2 * p, j = p % half;
    const float a = bf16_to_float(float_to_bf16(input(c) * r)) * weight[c];
    const float bb = bf16_to_float(float_to_bf16(input(c + 1) * r)) * weight[c + 1];
    if (rotate) {
      const float cs = cos[l * half + j], sn = sin[l * half + j];
      o[c] = float_to_bf16(a * cs - bb * sn);
      o[c + 1] = float_to_bf16(a * sn + bb * cs);
    } else {
      o[c] = float_to_bf16(a);
      o[c + 1] = float_to_bf16(bb);
    }
  }
}

// One block per row; 4 columns per thread and step (dim % 4 == 0, checked by the caller).
__global__ void gated_residual_kernel(float* __restrict__ x, const uint16_t* __restrict__ y,
                                      const uint16_t* __restrict__ y_bias, const float* __restrict__ gate,
                                      int64_t rows_per_batch, int64_t dim) {
  const int64_t row = blockIdx.x;
  const float* g = gate + (row / rows_per_batch) * dim;
  float4* xr = reinterpret_cast<float4*>(x + row * dim);
  const uint2* yr = reinterpret_cast<const uint2*>(y + row * dim);
  const float4* gr = reinterpret_cast<const float4*>(g);
  const uint2* br = reinterpret_cast<const uint2*>(y_bias);
  for (int64_t c = threadIdx.x; c < dim / 4; c += kThreads) {
    float4 a = xr[c];
    const uint2 yy = yr[c];
    const uint2 bb = br ? br[c] : make_uint2(0u, 0u);
    const float4 gg = gr[c];
    a.x += (__uint_as_float(yy.x << 16) + __uint_as_float(bb.x << 16)) * gg.x;
    a.y += (__uint_as_float(yy.x & 0xffff0000u) + __uint_as_float(bb.x & 0xffff0000u)) * gg.y;
    a.z += (__uint_as_float(yy.y << 16) + __uint_as_float(bb.y << 16)) * gg.z;
    a.w += (__uint_as_float(yy.y & 0xffff0000u) + __uint_as_float(bb.y & 0xffff0000u)) * gg.w;
    xr[c] = a;
  }
}

}  // namespace

void launch_add_modulated_layer_norm(float* x, const uint16_t* y, const uint16_t* y_bias, const float* gate,
                                     const float* shift, const float* scale, uint16_t* out_bf16, int64_t batch,
                                     int64_t rows_per_batch, int64_t dim, float eps, cudaStream_t stream) {
  const int64_t rows = batch * rows_per_batch;
  if (rows == 0) return;
  add_modulated_layer_norm_kernel<<<rows, kThreads, 0, stream>>>(x, y, y_bias, gate, shift, scale, out_bf16,
                                                                 rows_per_batch, dim, eps);
}

void launch_rms_norm_rope(const uint16_t* x, int64_t x_row_stride, const uint16_t* x_bias, const float* weight,
                          const float* cos, const float* sin, const int64_t* valid_rows, uint16_t* out, int64_t batch,
                          int64_t rows_per_batch, int64_t heads, int64_t head_dim, float eps, cudaStream_t stream) {
  const int64_t rows = batch * rows_per_batch;
  if (rows == 0) return;
  rms_norm_rope_kernel<<<rows, kThreads, 0, stream>>>(x, x_row_stride, x_bias, weight, cos, sin, valid_rows, out,
                                                      rows_per_batch, heads, head_dim, eps);
}

void launch_gated_residual(float* x, const uint16_t* y, const uint16_t* y_bias, const float* gate, int64_t batch,
                           int64_t rows_per_batch, int64_t dim, cudaStream_t stream) {
  const int64_t rows = batch * rows_per_batch;
  if (rows == 0) return;
  gated_residual_kernel<<<rows, kThreads, 0, stream>>>(x, y, y_bias, gate, rows_per_batch, dim);
}

}  // namespace wan::cuda
