// The VAE encoder: video [B, 3, T, H, W] -> [B, 2*z_dim, 1 + (T-1)/4, H/8, W/8]
// (means and log-variances), fed one time chunk at a time.
#pragma once
#include <functional>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/vae/causal_conv3d.h"
#include "models/vae/layer_stack.h"
#include "models/vae/residual_block.h"
#include "models/vae/vae_config.h"

namespace wan::vae {

// Everything the encoder remembers between time chunks.
struct Encoder3dCache {
  CausalConvCache conv1;
  std::vector<LayerCache> downsamples;
  ResidualBlockCache middle_in, middle_out;
  CausalConvCache head;
};

class Encoder3dImpl : public torch::nn::Module {
 public:
  explicit Encoder3dImpl(const VAEConfig& config);
  Encoder3dCache make_cache() const;
  // One chunk: frame 0 alone first, then 4 frames at a time. `before_frame`
  // (if set) runs before each piece (the chunk, or each of its frames on CUDA)
  // and between the layers; it may throw to stop the encode there.
  at::Tensor forward(const at::Tensor& chunk, Encoder3dCache& cache,
                     const std::function<void()>& before_frame = {}) const;

 private:
  CausalConv3d conv1_{nullptr};
  LayerStack downsamples_{nullptr};
  ResidualBlock middle_in_{nullptr}, middle_out_{nullptr};
  AttentionBlock middle_attention_{nullptr};
  RMSNorm head_norm_{nullptr};
  CausalConv3d head_conv_{nullptr};
};
TORCH_MODULE(Encoder3d);

}  // namespace wan::vae
