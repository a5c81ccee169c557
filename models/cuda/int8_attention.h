// 8-bit attention for the fast mode on Hopper: our own wgmma kernel (int8_attention_kernel.h)
// with every product in 8-bit integers and exact integer sums. Q is quantised per row, K per
// key after losing its per-channel mean (softmax cannot see a shift common to all keys),
// V per channel after losing its mean (P's rows sum to one, so the mean is added back exactly),
// P to u8 against each tile's row max. Accuracy and speed against cuDNN: tests/bench/RESULTS.md.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace wan::cuda {

// True when `device` can run it: a CUDA build with the kernel, a Hopper (compute capability
// 9.0) device; else *why says why.
bool int8_attention_available(const at::Device& device, std::string* why = nullptr);

// q [B, Lq, heads, 128], k / v [B, Lk, heads, 128] on one CUDA device (any float dtype) ->
// bf16 [B, Lq, heads, 128], scale 1/sqrt(128). Keys at positions >= key_lengths[b] are ignored
// (empty: all keys).
at::Tensor int8_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const std::vector<int64_t>& key_lengths = {});

}  // namespace wan::cuda
