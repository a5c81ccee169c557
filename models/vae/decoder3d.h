// The VAE decoder: latent [B, z_dim, F, h, w] (after conv2) -> video
// [B, 3, 1 + 4(F-1), 8h, 8w], fed one latent frame at a time: the first frame
// gives 1 video frame, every later one 4.
#pragma once
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/vae/causal_conv3d.h"
#include "models/vae/layer_stack.h"
#include "models/vae/residual_block.h"
#include "models/vae/vae_config.h"

namespace wan::vae {

// Everything the decoder remembers between latent frames.
struct Decoder3dCache {
  CausalConvCache conv1;
  ResidualBlockCache middle_in, middle_out;
  std::vector<LayerCache> upsamples;
  CausalConvCache head;
};

class Decoder3dImpl : public torch::nn::Module {
 public:
  explicit Decoder3dImpl(const VAEConfig& config);
  Decoder3dCache make_cache() const;
  at::Tensor forward(const at::Tensor& latent_frame, Decoder3dCache& cache) const;

 private:
  CausalConv3d conv1_{nullptr};
  ResidualBlock middle_in_{nullptr}, middle_out_{nullptr};
  AttentionBlock middle_attention_{nullptr};
  LayerStack upsamples_{nullptr};
  RMSNorm head_norm_{nullptr};
  CausalConv3d head_conv_{nullptr};
};
TORCH_MODULE(Decoder3d);

}  // namespace wan::vae
