// The Wan2.1 video VAE as the pipelines use it (WanVAE of the reference):
// videos [3, T, H, W] in [-1, 1] <-> normalised latents [z_dim, F, H/8, W/8]
// with T = 1 + 4(F - 1). Computes in the given dtype on the given device;
// inputs may live anywhere, results are float32 on that device.
#pragma once
#include <functional>
#include <string>

#include <ATen/ATen.h>

#include "models/tensor_map.h"
#include "models/vae/vae_config.h"
#include "models/vae/wan_vae_model.h"

namespace wan {

class WanVAE {
 public:
  // `weights` use the official names (see vae_loader.h for other layouts);
  // `what` names them in errors.
  WanVAE(const vae::VAEConfig& config, const TensorMap& weights, at::Device device = at::kCPU,
         at::ScalarType dtype = at::kFloat, const std::string& what = "VAE weights");

  // video [3, T, H, W], T = 4n + 1, H and W >= 8 -> normalised latent
  // (mu - latent_mean) / latent_std [z_dim, n + 1, H/8, W/8].
  at::Tensor encode(const at::Tensor& video) const;
  // The encoder mean before that normalisation.
  at::Tensor encode_unnormalized(const at::Tensor& video) const;

  // latent [z_dim, F, h, w] -> video [3, 4F - 3, 8h, 8w] clamped to [-1, 1].
  at::Tensor decode(const at::Tensor& latent) const;
  // The same without the clamp.
  at::Tensor decode_raw(const at::Tensor& latent) const;
  // The clamped decode handed out as it is produced: [3, 1, H, W] for the
  // first latent frame, then [3, 4, H, W] per latent frame. The pieces
  // concatenated in time equal decode() exactly.
  void decode_streaming(const at::Tensor& latent, const std::function<void(const at::Tensor& frames)>& on_frames) const;

  const vae::VAEConfig& config() const { return model_->config(); }
  at::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }

 private:
  at::Tensor encode_mean(const at::Tensor& video) const;  // [1, z_dim, F, h, w] float32
  void decode_unclamped(const at::Tensor& latent, const std::function<void(const at::Tensor&)>& on_frames) const;

  vae::WanVAEModel model_;
  at::Device device_;
  at::ScalarType dtype_;
  at::Tensor mean_, inv_std_;  // float32 [z_dim, 1, 1, 1] on device_
};

}  // namespace wan
