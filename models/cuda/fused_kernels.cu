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

__global__ void modulated_layer_norm_kernel(const float* __restrict__ x, const float* __restrict__ shift,
                                            const float* __restrict__ scale, uint16_t* __restrict__ out,
                                            int64_t rows_per_batch, int64_t dim, float eps) {
  const int64_t row = blockIdx.x;
  const int64_t b = row / rows_per_batch;
  const float* xr = x + row * dim;
  float s = 0.f;
  for (int64_t c = threadIdx.x; c < dim; c += kThreads) s += xr[c];
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
  for (int64_t c = threadIdx.x; c < dim; c += kThreads) o[c] = float_to_bf16((xr[c] - mean) * rstd * (1.f + sc[c]) + sh[c]);
}

__global__ void rms_norm_rope_kernel(const uint16_t* __restrict__ x, const float* __restrict__ weight,
                                     const float* __restrict__ cos, const float* __restrict__ sin,
                                     const int64_t* __restrict__ valid_rows, uint16_t* __restrict__ out,
                                     int64_t rows_per_batch, int64_t heads, int64_t head_dim, float eps) {
  const int64_t row = blockIdx.x;
  const int64_t b = row / rows_per_batch, l = row % rows_per_batch;
  const int64_t dim = heads * head_dim, half = head_dim / 2;
  const uint16_t* xr = x + row * dim;
  float ss = 0.f;
  for (int64_t c = threadIdx.x; c < dim; c += kThreads) {
    const float f = bf16_to_float(xr[c]);
    ss += f * f;
  }
  const float r = rsqrtf(block_sum(ss) / dim + eps);
  const bool rotate = l < valid_rows[b];
  uint16_t* o = out + row * dim;
  for (int64_t p = threadIdx.x; p < dim / 2; p += kThreads) {  // one interleaved channel pair
    const int64_t c = 2 * p, j = p % half;
    const float a = bf16_to_float(float_to_bf16(bf16_to_float(xr[c]) * r)) * weight[c];
    const float bb = bf16_to_float(float_to_bf16(bf16_to_float(xr[c + 1]) * r)) * weight[c + 1];
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

__global__ void gated_residual_kernel(float* __restrict__ x, const uint16_t* __restrict__ y,
                                      const float* __restrict__ gate, int64_t rows_per_batch, int64_t dim,
                                      int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = i / (rows_per_batch * dim), c = i % dim;
    x[i] += bf16_to_float(y[i]) * gate[b * dim + c];
  }
}

}  // namespace

void launch_modulated_layer_norm(const float* x, const float* shift, const float* scale, uint16_t* out_bf16,
                                 int64_t batch, int64_t rows_per_batch, int64_t dim, float eps, cudaStream_t stream) {
  const int64_t rows = batch * rows_per_batch;
  if (rows == 0) return;
  modulated_layer_norm_kernel<<<rows, kThreads, 0, stream>>>(x, shift, scale, out_bf16, rows_per_batch, dim, eps);
}

void launch_rms_norm_rope(const uint16_t* x, const float* weight, const float* cos, const float* sin,
                          const int64_t* valid_rows, uint16_t* out, int64_t batch, int64_t rows_per_batch,
                          int64_t heads, int64_t head_dim, float eps, cudaStream_t stream) {
  const int64_t rows = batch * rows_per_batch;
  if (rows == 0) return;
  rms_norm_rope_kernel<<<rows, kThreads, 0, stream>>>(x, weight, cos, sin, valid_rows, out, rows_per_batch, heads,
                                                      head_dim, eps);
}

void launch_gated_residual(float* x, const uint16_t* y, const float* gate, int64_t batch, int64_t rows_per_batch,
                           int64_t dim, cudaStream_t stream) {
  const int64_t total = batch * rows_per_batch * dim;
  if (total == 0) return;
  const int64_t blocks = std::min<int64_t>((total + kThreads - 1) / kThreads, 132 * 16);
  gated_residual_kernel<<<blocks, kThreads, 0, stream>>>(x, y, gate, rows_per_batch, dim, total);
}

}  // namespace wan::cuda
