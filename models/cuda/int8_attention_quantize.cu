#include "models/cuda/int8_attention_quantize.h"

#include <cuda_bf16.h>

#include "models/cuda/int8_attention_kernel.h"

namespace wan::cuda {
namespace {

constexpr int kD = kInt8AttentionHeadDim;
constexpr int kTile = kInt8AttentionTile;

__device__ __forceinline__ float bf16_to_float(uint16_t v) { return __uint_as_float(static_cast<uint32_t>(v) << 16); }

__device__ __forceinline__ int quantized(float x, float inv_scale) {
  return max(-127, min(127, __float2int_rn(x * inv_scale)));
}

// One warp per row of 128: four values a lane. kKeyPairs: the scales in K's key-pair layout.
template <bool kKeyPairs>
__global__ void quantize_rows_kernel(const uint16_t* x, const float* mean, int batch, int len, int heads, int rows,
                                     float factor, int8_t* out, float* scales) {
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= static_cast<int64_t>(batch) * heads * rows) return;
  const int row = static_cast<int>(warp % rows);
  const int h = static_cast<int>((warp / rows) % heads);
  const int b = static_cast<int>(warp / (static_cast<int64_t>(rows) * heads));
  uint32_t packed = 0;
  float amax = 0.f;
  if (row < len) {
    const uint2 raw =
        *reinterpret_cast<const uint2*>(x + ((static_cast<int64_t>(b) * len + row) * heads + h) * kD + 4 * lane);
    const uint16_t* v = reinterpret_cast<const uint16_t*>(&raw);
    float f[4];
    const float* m = mean ? mean + (static_cast<int64_t>(b) * heads + h) * kD + 4 * lane : nullptr;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      f[j] = bf16_to_float(v[j]) - (m ? m[j] : 0.f);
      amax = fmaxf(amax, fabsf(f[j]));
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    const float inv = amax > 0.f ? 127.f / amax : 0.f;
#pragma unroll
    for (int j = 0; j < 4; ++j) packed |= (static_cast<uint32_t>(quantized(f[j], inv)) & 0xffu) << (8 * j);
  }
  const int64_t at = (static_cast<int64_t>(b) * heads + h) * rows + row;
  // 128-byte swizzle within each row: 16-byte chunk c at c ^ (row % 8), as the kernel's tiles want.
  reinterpret_cast<uint32_t*>(out + at * kD)[(((lane >> 2) ^ (row & 7)) << 2) | (lane & 3)] = packed;
  const float scale = amax / 127.f * factor;
  if (!kKeyPairs) {
    if (lane == 0) scales[at] = scale;
  } else if (lane < 2) {  // rows is even: a pair never spans two heads
    scales[(at >> 1) * 4 + 2 * lane + (row & 1)] = lane == 0 ? scale : -kInt8AttentionMagic * scale;
  }
}

// Blocks of 32 x 8 threads: x over 256 channels (eight each), y over a share of the tokens.
constexpr int kChannelGroups = 32, kTokenLanes = 8, kTokenChunks = 64;

__global__ void channel_absmax_kernel(const uint16_t* x, const float* mean, int len, int channels, float* amax) {
  const int b = blockIdx.z;
  const int c = (blockIdx.x * kChannelGroups + threadIdx.x) * 8;
  __shared__ float partial[kTokenLanes][kChannelGroups * 8];
  float mx[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  if (c < channels) {
    const float* m = mean + static_cast<int64_t>(b) * channels + c;
    const int per_chunk = (len + kTokenChunks - 1) / kTokenChunks;
    const int end = min(len, (blockIdx.y + 1) * per_chunk);
    for (int t = blockIdx.y * per_chunk + threadIdx.y; t < end; t += kTokenLanes) {
      const uint4 raw = *reinterpret_cast<const uint4*>(x + (static_cast<int64_t>(b) * len + t) * channels + c);
      const uint16_t* v = reinterpret_cast<const uint16_t*>(&raw);
#pragma unroll
      for (int j = 0; j < 8; ++j) mx[j] = fmaxf(mx[j], fabsf(bf16_to_float(v[j]) - m[j]));
    }
  }
#pragma unroll
  for (int j = 0; j < 8; ++j) partial[threadIdx.y][threadIdx.x * 8 + j] = mx[j];
  __syncthreads();
  if (threadIdx.y != 0 || c >= channels) return;
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    float v = partial[0][threadIdx.x * 8 + j];
    for (int y = 1; y < kTokenLanes; ++y) v = fmaxf(v, partial[y][threadIdx.x * 8 + j]);
    // Non-negative floats order as their bits do.
    atomicMax(reinterpret_cast<int*>(amax + static_cast<int64_t>(b) * channels + c + j), __float_as_int(v));
  }
}

// One block per (128-key tile, head, batch): 256 threads, each eight channels of eight keys,
// always the same eight channels (so its rounding errors sum per channel), then the tile
// written out transposed through shared memory.
__global__ void quantize_values_transposed_kernel(const uint16_t* x, const float* mean, const float* scale, int len,
                                                  int heads, int rows, int8_t* out, float* tile_errors) {
  __shared__ __align__(16) int8_t tile[kD][kTile];
  __shared__ float errors[8][kD];
  const int b = blockIdx.z, h = blockIdx.y, first_key = blockIdx.x * kTile;
  const int d0 = (threadIdx.x & 15) * 8;
  const int64_t channel0 = (static_cast<int64_t>(b) * heads + h) * kD + d0;
  float m[8], inv[8], s[8], err[8];
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    m[j] = mean[channel0 + j];
    s[j] = scale[channel0 + j];
    inv[j] = s[j] > 0.f ? 1.f / s[j] : 0.f;
    err[j] = 0.f;
  }
  for (int key_in_tile = threadIdx.x >> 4; key_in_tile < kTile; key_in_tile += 16) {
    const int key = first_key + key_in_tile;
    const int pos = (key_in_tile & ~31) + int8_attention_key_position(key_in_tile & 31);
    if (key >= len) {
#pragma unroll
      for (int j = 0; j < 8; ++j) tile[d0 + j][pos] = 0;
      continue;
    }
    const uint4 raw =
        *reinterpret_cast<const uint4*>(x + ((static_cast<int64_t>(b) * len + key) * heads + h) * kD + d0);
    const uint16_t* v = reinterpret_cast<const uint16_t*>(&raw);
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const float centred = bf16_to_float(v[j]) - m[j];
      const int q = quantized(centred, inv[j]);
      tile[d0 + j][pos] = static_cast<int8_t>(q);
      err[j] += centred - static_cast<float>(q) * s[j];
    }
  }
  // Lanes l and l + 16 of a warp hold the same channels; then one row per warp in shared memory.
#pragma unroll
  for (int j = 0; j < 8; ++j) err[j] += __shfl_xor_sync(0xffffffffu, err[j], 16);
  const int warp = threadIdx.x >> 5;
  if ((threadIdx.x & 31) < 16)
#pragma unroll
    for (int j = 0; j < 8; ++j) errors[warp][d0 + j] = err[j];
  __syncthreads();
  if (threadIdx.x < kD) {
    float total = 0.f;
    for (int w = 0; w < 8; ++w) total += errors[w][threadIdx.x];
    tile_errors[((static_cast<int64_t>(b) * gridDim.x + blockIdx.x) * heads + h) * kD + threadIdx.x] = total;
  }
  // Tile by tile, each a swizzled 128 x 128 block: one contiguous copy into shared memory.
  int8_t* dst = out + (static_cast<int64_t>(b) * heads + h) * kD * rows + static_cast<int64_t>(first_key) * kD;
  for (int i = threadIdx.x; i < kD * kTile / 16; i += blockDim.x) {
    const int d = i >> 3, chunk = i & 7;
    *reinterpret_cast<uint4*>(dst + d * kTile + ((chunk ^ (d & 7)) << 4)) =
        *reinterpret_cast<const uint4*>(&tile[d][chunk * 16]);
  }
}

template <bool kKeyPairs>
void launch_rows(const uint16_t* x, const float* mean, int batch, int len, int heads, int rows, float factor,
                 int8_t* out, float* scales, cudaStream_t stream) {
  const int64_t threads = static_cast<int64_t>(batch) * heads * rows * 32;
  const int block = 256;
  quantize_rows_kernel<kKeyPairs><<<static_cast<unsigned>((threads + block - 1) / block), block, 0, stream>>>(
      x, mean, batch, len, heads, rows, factor, out, scales);
}

}  // namespace

void launch_quantize_rows(const uint16_t* x, const float* mean, int batch, int len, int heads, int rows, float factor,
                          int8_t* out, float* scales, cudaStream_t stream) {
  launch_rows<false>(x, mean, batch, len, heads, rows, factor, out, scales, stream);
}

void launch_quantize_keys(const uint16_t* x, const float* mean, int batch, int len, int heads, int rows, int8_t* out,
                          float* scales_and_shifts, cudaStream_t stream) {
  launch_rows<true>(x, mean, batch, len, heads, rows, 1.f, out, scales_and_shifts, stream);
}

void launch_channel_absmax(const uint16_t* x, const float* mean, int batch, int len, int heads, float* amax,
                           cudaStream_t stream) {
  const int channels = heads * kD;
  const dim3 grid((channels / 8 + kChannelGroups - 1) / kChannelGroups, kTokenChunks, batch);
  channel_absmax_kernel<<<grid, dim3(kChannelGroups, kTokenLanes), 0, stream>>>(x, mean, len, channels, amax);
}

void launch_quantize_values_transposed(const uint16_t* x, const float* mean, const float* scale, int batch, int len,
                                       int heads, int rows, int8_t* out, float* tile_errors, cudaStream_t stream) {
  const dim3 grid(rows / kTile, heads, batch);
  quantize_values_transposed_kernel<<<grid, 256, 0, stream>>>(x, mean, scale, len, heads, rows, out, tile_errors);
}

}  // namespace wan::cuda
