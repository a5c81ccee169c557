// The VAE's single-head self-attention over the H*W positions of each frame
// (used in the middle of encoder and decoder): x + proj(attention(norm(x))).
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/vae/conv2d.h"
#include "models/vae/rms_norm.h"

namespace wan::vae {

class AttentionBlockImpl : public torch::nn::Module {
 public:
  explicit AttentionBlockImpl(int64_t channels);
  at::Tensor forward(const at::Tensor& x) const;  // [B, C, T, H, W]

 private:
  RMSNorm norm_{nullptr};
  Conv2d to_qkv_{nullptr}, proj_{nullptr};
};
TORCH_MODULE(AttentionBlock);

}  // namespace wan::vae
