// 8-bit attention for the fp8 fast mode: cuDNN's fused fp8 SDPA (Hopper and newer) with Q, K,
// V quantised to e4m3 per tensor by our kernels. Two shifts the softmax cannot see shrink what
// e4m3 must hold: K less its per-channel mean over the keys (a shift common to every key
// leaves each softmax row unchanged), V less its per-channel mean (P's rows sum to one, so the
// mean is added back to the output exactly).
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace wan::cuda {

// True when `device` can run it: a build with cuDNN's frontend (-Dcuda=enabled), a CUDA device
// of compute capability 9.0 or newer, and a cuDNN that accepts the fp8 graph; else *why says why.
bool fp8_attention_available(const at::Device& device, std::string* why = nullptr);

// q [B, Lq, heads, head_dim], k / v [B, Lk, heads, head_dim] on one CUDA device (any float
// dtype; computed from their bf16 values) -> bf16 [B, Lq, heads, head_dim], scale
// 1/sqrt(head_dim). Keys at positions >= key_lengths[b] are ignored (empty: all keys).
at::Tensor fp8_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const std::vector<int64_t>& key_lengths = {});

}  // namespace wan::cuda
