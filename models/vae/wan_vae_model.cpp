#include "models/vae/wan_vae_model.h"

#include <vector>

namespace wan::vae {

WanVAEModelImpl::WanVAEModelImpl(const VAEConfig& config) : config_(config) {
  config_.validate();
  encoder_ = register_module("encoder", Encoder3d(config_));
  conv1_ = register_module("conv1", pointwise_conv3d(2 * config_.z_dim, 2 * config_.z_dim));
  conv2_ = register_module("conv2", pointwise_conv3d(config_.z_dim, config_.z_dim));
  decoder_ = register_module("decoder", Decoder3d(config_));
}

at::Tensor WanVAEModelImpl::encode_mean(const at::Tensor& video, const std::function<void()>& before_frame) const {
  // Frame 0 alone, then 4 frames at a time: each chunk yields one latent frame.
  Encoder3dCache cache = encoder_->make_cache();
  std::vector<at::Tensor> latent_frames;
  const int64_t chunks = 1 + (video.size(2) - 1) / 4;
  for (int64_t i = 0; i < chunks; ++i) {
    const at::Tensor chunk = i == 0 ? video.narrow(2, 0, 1) : video.narrow(2, 1 + 4 * (i - 1), 4);
    latent_frames.push_back(encoder_->forward(chunk, cache, before_frame));
  }
  const at::Tensor moments = conv1_->forward(at::cat(latent_frames, 2));
  return moments.narrow(1, 0, config_.z_dim);  // the log-variance half is unused
}

void WanVAEModelImpl::decode_in_chunks(const at::Tensor& latent,
                                       const std::function<void(const at::Tensor&)>& on_chunk) const {
  const at::Tensor x = decoder_input(latent);
  Decoder3dCache cache = make_decoder_cache();
  for (int64_t i = 0; i < x.size(2); ++i) on_chunk(decode_frame(x.narrow(2, i, 1), cache));
}

at::Tensor WanVAEModelImpl::decoder_input(const at::Tensor& latent) const { return conv2_->forward(latent); }

Decoder3dCache WanVAEModelImpl::make_decoder_cache() const { return decoder_->make_cache(); }

at::Tensor WanVAEModelImpl::decode_frame(const at::Tensor& input_frame, Decoder3dCache& cache) const {
  return decoder_->forward(input_frame, cache);
}

}  // namespace wan::vae
