// Output head of the DiT: modulated LayerNorm, then a Linear to out_dim channels per patch
// position. Runs in float32 (a reference float32 island).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <cstdint>

namespace wan::dit {

struct HeadImpl : torch::nn::Module {
  HeadImpl(int64_t dim, int64_t out_dim, const std::array<int64_t, 3>& patch_size, double eps);
  // x [B, S, dim]; time_embedding float32 [B, dim] (before the 6-way projection), or
  // [B, F, dim] per frame (S = F x tokens per frame).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& time_embedding);

  double eps;
  torch::nn::Linear head{nullptr};
  at::Tensor modulation;  // [1, 2, dim]: shift, scale
};
TORCH_MODULE(Head);

}  // namespace wan::dit
