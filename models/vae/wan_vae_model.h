// The Wan VAE network (WanVAE_ of the reference): encoder + conv1 to the latent
// mean / log-variance, conv2 + decoder back to video. Works on batched 5-D
// tensors in the module's dtype; see wan_vae.h for the user-facing API.
#pragma once
#include <functional>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/vae/causal_conv3d.h"
#include "models/vae/decoder3d.h"
#include "models/vae/encoder3d.h"
#include "models/vae/vae_config.h"

namespace wan::vae {

class WanVAEModelImpl : public torch::nn::Module {
 public:
  explicit WanVAEModelImpl(const VAEConfig& config);

  // video [B, 3, 1 + 4k, H, W] -> latent mean [B, z_dim, 1 + k, H/8, W/8] (not normalised).
  // `before_frame` (if set) runs before each input frame is encoded and may throw to stop.
  at::Tensor encode_mean(const at::Tensor& video, const std::function<void()>& before_frame = {}) const;

  // latent [B, z_dim, F, h, w] (not normalised) -> video, handed out in time
  // order: 1 frame for the first latent frame, 4 for each later one.
  void decode_in_chunks(const at::Tensor& latent, const std::function<void(const at::Tensor&)>& on_chunk) const;

  // The same in steps, for callers that crop or interleave decodes (tiling):
  // conv2 is pointwise, so its output may be cropped in space before the
  // decoder, which then takes one frame of it per call.
  at::Tensor decoder_input(const at::Tensor& latent) const;
  Decoder3dCache make_decoder_cache() const;
  at::Tensor decode_frame(const at::Tensor& input_frame, Decoder3dCache& cache) const;

  const VAEConfig& config() const { return config_; }

 private:
  VAEConfig config_;
  Encoder3d encoder_{nullptr};
  CausalConv3d conv1_{nullptr}, conv2_{nullptr};
  Decoder3d decoder_{nullptr};
};
TORCH_MODULE(WanVAEModel);

}  // namespace wan::vae
