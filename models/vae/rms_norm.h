// The VAE's RMS_norm: L2-normalise over channels (F.normalize, eps 1e-12),
// then scale by sqrt(C) and a learned per-channel gamma. Note this is
// x / max(||x||, eps) * sqrt(C), not x * rsqrt(mean(x^2) + eps).
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/vae/causal_conv3d.h"

namespace wan::vae {

class RMSNormImpl : public torch::nn::Module {
 public:
  // `images`: inputs are [B, C, H, W] (gamma [C, 1, 1]); else videos [B, C, T, H, W] (gamma [C, 1, 1, 1]).
  RMSNormImpl(int64_t channels, bool images);
  at::Tensor forward(const at::Tensor& x) const;
  // silu(forward(x)): the norm as every convolution of the VAE's residual
  // blocks and head sees it; one fused pass on CUDA.
  at::Tensor forward_silu(const at::Tensor& x) const;
  // The same of a convolution's output still in terms (CausalConvTerms), added as they are read.
  at::Tensor forward_silu(const CausalConvTerms& x) const;

  at::Tensor gamma;

 private:
  double scale_;
};
TORCH_MODULE(RMSNorm);

}  // namespace wan::vae
