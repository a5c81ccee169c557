#include "models/vae/wan_vae.h"

#include <cstdlib>
#include <vector>

#include <ATen/Context.h>
#include <c10/core/GradMode.h>
#include <c10/util/StringUtil.h>

#include "models/common/error.h"
#include "models/common/same_kind.h"
#include "models/weights/state_dict.h"

namespace wan {

namespace {

// cuDNN's autotuning for the duration of one VAE call on CUDA; the global
// setting is restored afterwards, so other models keep theirs.
class CudnnBenchmarkScope {
 public:
  CudnnBenchmarkScope(const at::Device& device, bool on)
      : active_(device.is_cuda()), previous_(at::globalContext().benchmarkCuDNN()) {
    if (active_) at::globalContext().setBenchmarkCuDNN(on);
  }
  ~CudnnBenchmarkScope() {
    if (active_) at::globalContext().setBenchmarkCuDNN(previous_);
  }
  CudnnBenchmarkScope(const CudnnBenchmarkScope&) = delete;
  CudnnBenchmarkScope& operator=(const CudnnBenchmarkScope&) = delete;

 private:
  bool active_, previous_;
};

}  // namespace

WanVAE::WanVAE(const vae::VAEConfig& config, const TensorMap& weights, at::Device device, at::ScalarType dtype,
               const std::string& what)
    : model_(config), device_(device), dtype_(dtype) {
  if (device.is_cuda()) {
    // cuDNN's heuristics in mode B pick the VAE's convolutions nearly as well as
    // timing them does (the default "instant" mode made the 720p decode 4.55 s
    // instead of 3.47 s). libtorch reads the switch once, from the environment,
    // at its first convolution: set it unless the user has.
    setenv("TORCH_CUDNN_USE_HEURISTIC_MODE_B", "1", /*overwrite=*/0);
  }
  model_->to(device, dtype);
  load_state_dict(*model_, weights, what);
  for (auto& p : model_->parameters()) p.set_requires_grad(false);
  model_->eval();
  set_device_tuning(tuning_);
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  const int64_t z = config.z_dim;
  mean_ =
      at::tensor(std::vector<float>(config.latent_mean.begin(), config.latent_mean.end())).to(f32).view({z, 1, 1, 1});
  // The reference keeps 1/std (a float32 reciprocal) and multiplies / divides by it.
  inv_std_ = at::reciprocal(at::tensor(std::vector<float>(config.latent_std.begin(), config.latent_std.end())))
                 .to(f32)
                 .view({z, 1, 1, 1});
}

void WanVAE::set_device_tuning(const VAEDeviceTuning& tuning) {
  tuning_ = tuning;
  if (!device_.is_cuda()) return;
  for (auto& p : model_->named_parameters()) {
    at::Tensor& w = p.value();
    if (w.dim() < 4 || p.key().find("weight") == std::string::npos) continue;  // convolution weights only
    const auto format = !tuning.channels_last ? at::MemoryFormat::Contiguous
                        : w.dim() == 5        ? at::MemoryFormat::ChannelsLast3d
                                              : at::MemoryFormat::ChannelsLast;
    const auto same_kind = same_kind_as(w);
    w.set_data(w.contiguous(format));
  }
}

at::Tensor WanVAE::encode_mean(const at::Tensor& video, const std::function<void()>& before_frame) const {
  if (video.dim() != 4 || video.size(0) != 3 || video.size(1) % 4 != 1 || video.size(2) < 8 || video.size(3) < 8 ||
      !video.is_floating_point())
    throw Error("VAE encode: expected a floating-point video [3, T, H, W] with T = 4n + 1 frames and H, W >= 8, got " +
                std::string(c10::toString(video.scalar_type())) + " " + c10::str(video.sizes()));
  c10::AutoGradMode no_grad(false);
  CudnnBenchmarkScope benchmark(device_, tuning_.cudnn_benchmark);
  return model_->encode_mean(video.to(device_, dtype_).unsqueeze(0), before_frame).to(at::kFloat);
}

at::Tensor WanVAE::encode_unnormalized(const at::Tensor& video, const std::function<void()>& before_frame) const {
  return encode_mean(video, before_frame).squeeze(0);
}

at::Tensor WanVAE::encode(const at::Tensor& video, const std::function<void()>& before_frame) const {
  return ((encode_mean(video, before_frame) - mean_) * inv_std_).squeeze(0);
}

at::Tensor WanVAE::unnormalized_latent(const at::Tensor& latent) const {
  const int64_t z = config().z_dim;
  if (latent.dim() != 4 || latent.size(0) != z || latent.size(1) < 1 || latent.size(2) < 1 || latent.size(3) < 1 ||
      !latent.is_floating_point())
    throw Error("VAE decode: expected a floating-point latent [" + std::to_string(z) +
                ", F, h, w] with F, h, w >= 1, got " + std::string(c10::toString(latent.scalar_type())) + " " +
                c10::str(latent.sizes()));
  return (latent.to(device_, at::kFloat) / inv_std_ + mean_).unsqueeze(0).to(dtype_);
}

void WanVAE::decode_unclamped(const at::Tensor& latent, const DecodeOptions& options,
                              const std::function<void(const at::Tensor&)>& on_frames) const {
  const at::Tensor unnormalized = unnormalized_latent(latent);
  options.validate();
  c10::AutoGradMode no_grad(false);
  CudnnBenchmarkScope benchmark(device_, tuning_.cudnn_benchmark);
  // Contiguous float32 pieces, whatever layout the device computed in.
  const auto hand_out = [&](const at::Tensor& frames) { on_frames(frames.squeeze(0).to(at::kFloat).contiguous()); };
  if (options.tiled())
    vae::decode_tiles_in_step(*model_, model_->decoder_input(unnormalized), options, hand_out);
  else
    model_->decode_in_chunks(unnormalized, hand_out);
}

at::Tensor WanVAE::decode_raw(const at::Tensor& latent, const DecodeOptions& options) const {
  if (options.tiled()) {
    const at::Tensor unnormalized = unnormalized_latent(latent);
    c10::AutoGradMode no_grad(false);
    CudnnBenchmarkScope benchmark(device_, tuning_.cudnn_benchmark);
    return vae::decode_tile_by_tile(*model_, model_->decoder_input(unnormalized), options).squeeze(0);
  }
  // The pieces go straight into the whole video: no second copy of it.
  at::Tensor video;
  int64_t t = 0;
  decode_unclamped(latent, options, [&](const at::Tensor& frames) {
    if (!video.defined()) {
      const int64_t total = 1 + (latent.size(1) - 1) * config().temporal_scale();
      video = at::empty({frames.size(0), total, frames.size(2), frames.size(3)}, frames.options());
    }
    video.narrow(1, t, frames.size(1)).copy_(frames);
    t += frames.size(1);
  });
  return video;
}

at::Tensor WanVAE::decode(const at::Tensor& latent, const DecodeOptions& options) const {
  return decode_raw(latent, options).clamp_(-1, 1);
}

void WanVAE::decode_streaming(const at::Tensor& latent, const std::function<void(const at::Tensor& frames)>& on_frames,
                              const DecodeOptions& options) const {
  decode_unclamped(latent, options, [&](const at::Tensor& frames) { on_frames(frames.clamp(-1, 1)); });
}

void WanVAE::decode_continuing(const at::Tensor& latent, VAEDecodeStream& stream,
                               const std::function<void(const at::Tensor& frames)>& on_frames) const {
  c10::AutoGradMode no_grad(false);
  const at::Tensor input = model_->decoder_input(unnormalized_latent(latent));  // conv2 is pointwise in time
  CudnnBenchmarkScope benchmark(device_, tuning_.cudnn_benchmark);
  if (!stream.cache) stream.cache = model_->make_decoder_cache();
  for (int64_t i = 0; i < input.size(2); ++i) {
    const at::Tensor frames = model_->decode_frame(input.narrow(2, i, 1), *stream.cache);
    ++stream.latent_frames;
    on_frames(frames.squeeze(0).to(at::kFloat).clamp_(-1, 1).contiguous());
  }
}

}  // namespace wan
