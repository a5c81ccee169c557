#include "models/vae/wan_vae.h"

#include <sstream>
#include <vector>

#include <c10/core/GradMode.h>

#include "models/error.h"
#include "models/state_dict.h"

namespace wan {

namespace {

std::string shape_of(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

}  // namespace

WanVAE::WanVAE(const vae::VAEConfig& config, const TensorMap& weights, at::Device device, at::ScalarType dtype,
               const std::string& what)
    : model_(config), device_(device), dtype_(dtype) {
  model_->to(device, dtype);
  load_state_dict(*model_, weights, what);
  for (auto& p : model_->parameters()) p.set_requires_grad(false);
  model_->eval();
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  const int64_t z = config.z_dim;
  mean_ =
      at::tensor(std::vector<float>(config.latent_mean.begin(), config.latent_mean.end())).to(f32).view({z, 1, 1, 1});
  // The reference keeps 1/std (a float32 reciprocal) and multiplies / divides by it.
  inv_std_ = at::reciprocal(at::tensor(std::vector<float>(config.latent_std.begin(), config.latent_std.end())))
                 .to(f32)
                 .view({z, 1, 1, 1});
}

at::Tensor WanVAE::encode_mean(const at::Tensor& video) const {
  if (video.dim() != 4 || video.size(0) != 3 || video.size(1) % 4 != 1 || video.size(2) < 8 || video.size(3) < 8 ||
      !video.is_floating_point())
    throw Error("VAE encode: expected a floating-point video [3, T, H, W] with T = 4n + 1 frames and H, W >= 8, got " +
                std::string(c10::toString(video.scalar_type())) + " " + shape_of(video));
  c10::AutoGradMode no_grad(false);
  return model_->encode_mean(video.to(device_, dtype_).unsqueeze(0)).to(at::kFloat);
}

at::Tensor WanVAE::encode_unnormalized(const at::Tensor& video) const { return encode_mean(video).squeeze(0); }

at::Tensor WanVAE::encode(const at::Tensor& video) const {
  return ((encode_mean(video) - mean_) * inv_std_).squeeze(0);
}

void WanVAE::decode_unclamped(const at::Tensor& latent, const std::function<void(const at::Tensor&)>& on_frames) const {
  const int64_t z = config().z_dim;
  if (latent.dim() != 4 || latent.size(0) != z || latent.size(1) < 1 || latent.size(2) < 1 || latent.size(3) < 1 ||
      !latent.is_floating_point())
    throw Error("VAE decode: expected a floating-point latent [" + std::to_string(z) +
                ", F, h, w] with F, h, w >= 1, got " + std::string(c10::toString(latent.scalar_type())) + " " +
                shape_of(latent));
  c10::AutoGradMode no_grad(false);
  const at::Tensor unnormalized = latent.to(device_, at::kFloat) / inv_std_ + mean_;
  model_->decode_in_chunks(unnormalized.unsqueeze(0).to(dtype_),
                           [&](const at::Tensor& frames) { on_frames(frames.squeeze(0).to(at::kFloat)); });
}

at::Tensor WanVAE::decode_raw(const at::Tensor& latent) const {
  std::vector<at::Tensor> pieces;
  decode_unclamped(latent, [&](const at::Tensor& frames) { pieces.push_back(frames); });
  return at::cat(pieces, 1);
}

at::Tensor WanVAE::decode(const at::Tensor& latent) const { return decode_raw(latent).clamp_(-1, 1); }

void WanVAE::decode_streaming(const at::Tensor& latent,
                              const std::function<void(const at::Tensor& frames)>& on_frames) const {
  decode_unclamped(latent, [&](const at::Tensor& frames) { on_frames(frames.clamp(-1, 1)); });
}

}  // namespace wan
