// Launchers of the per-tensor e4m3 quantisation around cuDNN's fp8 attention
// (fp8_attention_kernels.cu). Raw pointers only, so the .cu file needs no libtorch headers.
//
// Tensors are bf16 [batch, len, channels] contiguous (channels = heads x head_dim, a multiple
// of 8; 16-byte aligned); `offset` is float32 [batch, channels] (a per-channel mean that the
// attention does not see: softmax ignores a shift common to all keys, and P's rows sum to one).
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace wan::cuda {

// *amax = max(*amax, max |x - offset|). *amax must start at zero (or at an earlier maximum).
void launch_amax_minus_offset(const uint16_t* x, const float* offset, int64_t batch, int64_t len, int64_t channels,
                              float* amax, cudaStream_t stream);

// out = e4m3((x - offset) * 448 / *amax), saturated; a zero amax gives zeros.
void launch_quantize_minus_offset(const uint16_t* x, const float* offset, int64_t batch, int64_t len, int64_t channels,
                                  const float* amax, uint8_t* out, cudaStream_t stream);

// out (bf16) = e4m3 value * (*amax / 448) + offset: the inverse of the quantisation above.
void launch_dequantize_plus_offset(const uint8_t* x, const float* offset, int64_t batch, int64_t len, int64_t channels,
                                   const float* amax, uint16_t* out, cudaStream_t stream);

}  // namespace wan::cuda
