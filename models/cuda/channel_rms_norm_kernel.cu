#include "models/cuda/channel_rms_norm_kernel.h"

#include <cmath>

#include "models/cuda/float4_ops.cuh"

namespace wan::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

// One warp per position: the C channels are read once as float4, reduced with
// shuffles, and written once (the unfused chain reads and writes the tensor
// about five times).
constexpr int kMaxChunks = 8;  // float4 chunks per lane: up to 4 * 32 * 8 = 1024 channels

__global__ void channel_rms_norm_kernel(const float* __restrict__ x, const float* __restrict__ plus,
                                        const float* __restrict__ bias, int64_t x_outer_stride,
                                        const float* __restrict__ gamma, float* __restrict__ out,
                                        int64_t out_outer_stride, int64_t positions, int64_t inner, int chunks,
                                        float scale, bool silu) {
  const int lane = threadIdx.x % 32;
  const int64_t p = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (p >= positions) return;
  const int64_t o = p / inner, i = p % inner;
  const int64_t base = o * x_outer_stride + i * chunks * 4;
  const float4* xr = reinterpret_cast<const float4*>(x + base);
  const float4* pr = plus ? reinterpret_cast<const float4*>(plus + base) : nullptr;
  float4* outr = reinterpret_cast<float4*>(out + o * out_outer_stride + i * chunks * 4);
  const float4* g = reinterpret_cast<const float4*>(gamma);
  const float4* b = reinterpret_cast<const float4*>(bias);

  float4 v[kMaxChunks];  // this lane's chunks, in registers
  float sum = 0.f;
  int n = 0;
  for (int c = lane; c < chunks; c += 32, ++n) {
    v[n] = xr[c];
    if (pr) v[n] = v[n] + pr[c];
    if (b) v[n] = v[n] + b[c];
    sum += v[n].x * v[n].x + v[n].y * v[n].y + v[n].z * v[n].z + v[n].w * v[n].w;
  }
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  // F.normalize: divide by the norm clamped below at eps.
  const float k = scale / fmaxf(sqrtf(sum), 1e-12f);
  n = 0;
  for (int c = lane; c < chunks; c += 32, ++n) {
    const float4 gg = g[c];
    float4 y = make_float4(v[n].x * k * gg.x, v[n].y * k * gg.y, v[n].z * k * gg.z, v[n].w * k * gg.w);
    if (silu) {
      y.x = y.x / (1.f + expf(-y.x));
      y.y = y.y / (1.f + expf(-y.y));
      y.z = y.z / (1.f + expf(-y.z));
      y.w = y.w / (1.f + expf(-y.w));
    }
    outr[c] = y;
  }
}

}  // namespace

void launch_channel_rms_norm(const float* x, const float* plus, const float* bias, int64_t x_outer_stride,
                             const float* gamma, float* out, int64_t out_outer_stride, int64_t outer, int64_t inner,
                             int64_t channels, bool silu, cudaStream_t stream) {
  const int64_t positions = outer * inner;
  if (positions == 0) return;
  const int64_t blocks = (positions + kWarpsPerBlock - 1) / kWarpsPerBlock;
  channel_rms_norm_kernel<<<blocks, kWarpsPerBlock * 32, 0, stream>>>(
      x, plus, bias, x_outer_stride, gamma, out, out_outer_stride, positions, inner, static_cast<int>(channels / 4),
      std::sqrt(static_cast<float>(channels)), silu);
}

}  // namespace wan::cuda
