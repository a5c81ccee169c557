// The 8-bit attention kernel for Hopper (int8_attention_kernel.cu): softmax(Q K^T) V with every
// matrix product on 8-bit integer tensor cores (wgmma), exact integer accumulation, and float32
// online softmax. Raw pointers only, so the .cu file needs no libtorch headers; the
// quantisation that fills these buffers is int8_attention.cpp's.
//
// Operands, head_dim 128, each 128 x 128 tile stored as shared memory wants it (the 128-byte
// swizzle: 16-byte chunk c of row r at chunk c ^ (r % 8)), so that one bulk copy moves it:
//   Q  int8 [B, H, q_rows, 128], one scale per row (that row's amax / 127, times the softmax
//      scale and log2(e)): q_rows is the query length rounded up to 128, padding rows zero;
//   K  int8 [B, H, key_rows, 128] less the per-channel key mean (softmax cannot see a shift
//      common to all keys), one scale per key; key_rows a multiple of 128. Per pair of keys
//      (2j, 2j + 1) four floats: their scales, then their shifts, -kInt8AttentionMagic times
//      the scales (what the kernel's integer-to-float conversion leaves to take off), so that
//      one 16-byte read gives a thread both;
//   V  int8 [B, H, key_rows / 128, 128, 128] less the per-channel value mean: per 128-key tile,
//      transposed (channel rows of 128 keys, as Hopper's 8-bit products want the reduced
//      dimension contiguous), one scale per channel, and its keys reordered within each group
//      of 32 (int8_attention_key_position) so that P goes from the product that made S to the
//      one that consumes it without leaving its registers;
//   P  u8, round(255 * exp(s - the row's max within its 128-key tile)): the tile's own max
//      keeps P's resolution where a running max would leave the early tiles a few levels.
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace wan::cuda {

constexpr int kInt8AttentionHeadDim = 128;
constexpr int kInt8AttentionTile = 128;  // queries per block and keys per step
// 1.5 * 2^23: for |x| < 2^22 the bits of this float plus the integer x are those of this + x,
// the kernel's integer-to-float conversion in one integer add.
constexpr float kInt8AttentionMagic = 12582912.f;

struct Int8AttentionArgs {
  const int8_t* q = nullptr;
  const int8_t* k = nullptr;
  const int8_t* v_t = nullptr;           // V's tiles, transposed
  const float* q_scale = nullptr;        // [B, H, q_rows]
  const float* k_scale = nullptr;        // [B, H, key_rows / 2, 4]: scales and shifts of key pairs
  const float* v_scale = nullptr;        // [B, H, 128]
  const float* v_mean = nullptr;         // [B, H, 128], added back to the output (see int8_attention.cpp)
  const int32_t* key_lengths = nullptr;  // [B] on the device: keys at or past it are ignored
  uint16_t* out = nullptr;               // bf16 [B, q_len, H, 128]
  int batch = 0, heads = 0, q_len = 0, q_rows = 0;
  int key_len = 0;   // the keys when key_lengths is null
  int key_rows = 0;  // key_len rounded up to 128
};

// Where key `key` of a group of 32 sits in V's reordered copy (a permutation of 0..31): the
// register operand of a 32-key step holds, per thread, keys 4q..4q+3 and 16+4q..16+4q+3
// (q = lane % 4), where the accumulator of S gave the thread keys 2q, 2q+1, 8+2q, 9+2q, ...
__host__ __device__ inline int int8_attention_key_position(int key) {
  const int k = key & 15;
  return (key & 16) + 4 * ((k & 7) >> 1) + (k & 1) + (k >= 8 ? 2 : 0);
}

// True where the kernel can run: it is built for sm_90a (Hopper's wgmma) only.
bool int8_attention_kernel_runs_on(int device, const char** why);

void launch_int8_attention(const Int8AttentionArgs& args, cudaStream_t stream);

}  // namespace wan::cuda
