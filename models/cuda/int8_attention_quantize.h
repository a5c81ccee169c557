// The passes that turn bf16 q / k / v into the 8-bit attention kernel's operands
// (int8_attention_kernel.h), each one read of its input. Raw pointers only, so the .cu file needs
// no libtorch headers. Inputs are bf16 [B, len, heads, 128] contiguous and 16-byte aligned;
// `mean` and the per-channel buffers are float32 [B, heads * 128].
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace wan::cuda {

// Per row of 128: out int8 [B, heads, rows, 128] = round((x - mean) * 127 / amax), each row
// swizzled as the kernel reads it (int8_attention_kernel.h), scales [B, heads, rows] = amax / 127
// * factor; rows past len (up to `rows`) are zeros with scale 0.
// `mean` may be null (nothing subtracted).
void launch_quantize_rows(const uint16_t* x, const float* mean, int batch, int len, int heads, int rows, float factor,
                          int8_t* out, float* scales, cudaStream_t stream);

// K's operand: as launch_quantize_rows (factor 1), the scales written in the kernel's key-pair
// layout instead: [B, heads, rows / 2, 4], the pair's two scales then their shifts
// (int8_attention_kernel.h). `rows` is even.
void launch_quantize_keys(const uint16_t* x, const float* mean, int batch, int len, int heads, int rows, int8_t* out,
                          float* scales_and_shifts, cudaStream_t stream);

// amax[b, c] = max(amax[b, c], max over the len tokens of |x - mean|); amax starts at zero.
void launch_channel_absmax(const uint16_t* x, const float* mean, int batch, int len, int heads, float* amax,
                           cudaStream_t stream);

// V's operand: out int8 [B, heads, rows / 128, 128, 128] = round((x - mean) / scale), per tile of
// 128 keys transposed and swizzled (int8_attention_kernel.h), keys reordered within each group
// of 32 by int8_attention_key_position, keys past len zero. Each tile's sum of rounding errors
// (x - mean - out * scale) per channel goes to tile_errors float32 [B, rows / 128, heads * 128]:
// summed afterwards in a fixed order, so two runs agree to the bit (float atomics would not).
// `scale` is float32 [B, heads * 128].
void launch_quantize_values_transposed(const uint16_t* x, const float* mean, const float* scale, int batch, int len,
                                       int heads, int rows, int8_t* out, float* tile_errors, cudaStream_t stream);

}  // namespace wan::cuda
