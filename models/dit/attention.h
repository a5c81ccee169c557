// Multi-head scaled dot-product attention of the DiT.
#pragma once

#include <ATen/ATen.h>

namespace wan::dit {

// q [B, Lq, heads, head_dim], k / v [B, Lk, heads, head_dim] -> [B, Lq, heads, head_dim].
// Keys at positions >= k_lens[b] are ignored for sample b (k_lens: int64 [B]; undefined =
// all keys). Scale 1/sqrt(head_dim). On the CPU the math is exact float32 (the fixtures'
// reference); CUDA tensors go through the fused kernel in v's dtype (libtorch >= 2).
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens = {});

}  // namespace wan::dit
