// The VAE's residual block: x + residual(x), residual = RMS_norm, SiLU,
// causal conv 3x3x3, RMS_norm, SiLU, (dropout), causal conv 3x3x3; a 1x1x1
// causal conv on the skip path when the channel count changes. Children keep
// the reference's Sequential indices (residual.0/2/3/6, shortcut).
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/vae/causal_conv3d.h"
#include "models/vae/rms_norm.h"

namespace wan::vae {

struct ResidualBlockCache {
  CausalConvCache conv1, conv2;
};

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t in_channels, int64_t out_channels);
  at::Tensor forward(const at::Tensor& x, ResidualBlockCache& cache) const;

 private:
  RMSNorm norm1_{nullptr}, norm2_{nullptr};
  CausalConv3d conv1_{nullptr}, conv2_{nullptr};
  CausalConv3d shortcut_{nullptr};  // null when in_channels == out_channels
};
TORCH_MODULE(ResidualBlock);

}  // namespace wan::vae
