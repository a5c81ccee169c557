// What the 8-bit attentions (fp8_attention.h, int8_attention.h) ask of their inputs, checked
// in one place so that both refuse bad input with the same messages.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace wan::cuda {

// q [B, Lq, heads, d] and k, v [B, Lk, heads, d] on one CUDA device, Lq and Lk non-zero, and
// key lengths (if any) one per sample in [1, Lk]; else an Error starting with `who`.
void check_attention_inputs(const std::string& who, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const std::vector<int64_t>& key_lengths);

// t in bf16, contiguous, its data 16-byte aligned (the kernels read 16 bytes at a time: a
// contiguous view at an odd offset is copied).
at::Tensor bf16_aligned(const at::Tensor& t);

// x [B, L, heads, d] (contiguous) averaged over its L rows per channel: float32 [B, heads * d],
// contiguous. The shift both attentions take off K and V before quantising them.
at::Tensor channel_means(const at::Tensor& x);

// t's bf16 values as the kernels take them.
inline const uint16_t* bf16_data(const at::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr()); }

}  // namespace wan::cuda
