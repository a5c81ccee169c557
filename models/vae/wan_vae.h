// The Wan2.1 video VAE as the pipelines use it (WanVAE of the reference):
// videos [3, T, H, W] in [-1, 1] <-> normalised latents [z_dim, F, H/8, W/8]
// with T = 1 + 4(F - 1). Computes in the given dtype on the given device;
// inputs may live anywhere, results are float32 on that device. The reference
// computes in float32; bfloat16 halves the memory, at a rel. L2 against
// float32 of 9.3e-3 (encode) and 3.4e-2 (decode) on the vae-tiny fixture
// (measured by test-vae on the CPU).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <ATen/ATen.h>

#include "models/vae/tiled_decode.h"
#include "models/vae/vae_config.h"
#include "models/vae/wan_vae_model.h"
#include "models/weights/tensor_map.h"

namespace wan {

// What the decoder remembers of a video decoded a few latent frames at a time (live mode):
// its causal caches, alive from the first latent frame on. A fresh one starts a new video.
struct VAEDecodeStream {
  std::optional<vae::Decoder3dCache> cache;
  int64_t latent_frames = 0;  // decoded so far
};

// How the VAE runs on CUDA; the CPU ignores it, so CPU results stay
// bit-identical to the reference's.
struct VAEDeviceTuning {
  // Weights and activations channels-last (NDHWC): cuDNN's tensor-core
  // convolutions read that layout without transposing, and splitting a video
  // into per-frame images becomes a view.
  bool channels_last = true;
  // cuDNN times its algorithms on each new convolution shape (set for the
  // duration of each VAE call only). Off by default: without it cuDNN picks
  // from its heuristics (mode B, see WanVAE's constructor). On an H200 timing
  // made the warm 720p decode 8% faster (3.18 s against 3.47 s), but the first
  // call far slower (9.75 s against 3.57 s; a clip is usually decoded once per
  // process), and at 480p the trials' workspaces took the first call's peak
  // from 5.4 GiB to 39.6 GiB: cuDNN sizes them by the free device memory.
  bool cudnn_benchmark = false;
};

class WanVAE {
 public:
  // `weights` use the official names (see vae_loader.h for other layouts);
  // `what` names them in errors.
  WanVAE(const vae::VAEConfig& config, const TensorMap& weights, at::Device device = at::kCPU,
         at::ScalarType dtype = at::kFloat, const std::string& what = "VAE weights");

  // video [3, T, H, W], T = 4n + 1, H and W >= 8 -> normalised latent
  // (mu - latent_mean) / latent_std [z_dim, n + 1, H/8, W/8]. `before_frame`
  // (if set) runs before each chunk of frames is encoded; an exception it throws stops
  // the encode there (cancellation: a long clip takes many seconds on a CPU).
  at::Tensor encode(const at::Tensor& video, const std::function<void()>& before_frame = {}) const;
  // The encoder mean before that normalisation.
  at::Tensor encode_unnormalized(const at::Tensor& video, const std::function<void()>& before_frame = {}) const;

  // latent [z_dim, F, h, w] -> video [3, 4F - 3, 8h, 8w] clamped to [-1, 1].
  // With tiling (see tiled_decode.h) the tiles are decoded one after the
  // other, holding one tile's caches at a time.
  at::Tensor decode(const at::Tensor& latent, const DecodeOptions& options = {}) const;
  // The same without the clamp.
  at::Tensor decode_raw(const at::Tensor& latent, const DecodeOptions& options = {}) const;
  // The clamped decode handed out as it is produced: [3, 1, H, W] for the
  // first latent frame, then [3, 4, H, W] per latent frame. The pieces
  // concatenated in time equal decode() exactly. With tiling all tiles step
  // through the frames together (every tile's caches are held), so frames
  // still come out as they are done.
  void decode_streaming(const at::Tensor& latent, const std::function<void(const at::Tensor& frames)>& on_frames,
                        const DecodeOptions& options = {}) const;

  // latent [z_dim, F, h, w] as the next F latent frames of the video `stream` decodes:
  // the pieces (clamped, [3, 1, H, W] for the video's first latent frame, [3, 4, H, W]
  // for every later one) are those decode_streaming of the whole latent hands out for
  // these frames. Untiled. An exception from on_frames leaves the stream mid-frame: start
  // a new one.
  void decode_continuing(const at::Tensor& latent, VAEDecodeStream& stream,
                         const std::function<void(const at::Tensor& frames)>& on_frames) const;

  void set_device_tuning(const VAEDeviceTuning& tuning);

  const vae::VAEConfig& config() const { return model_->config(); }
  at::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }

 private:
  // [1, z_dim, F, h, w] float32
  at::Tensor encode_mean(const at::Tensor& video, const std::function<void()>& before_frame) const;
  // latent -> [1, z_dim, F, h, w] in dtype_ on device_, before latent_std and latent_mean; validated.
  at::Tensor unnormalized_latent(const at::Tensor& latent) const;
  // Unclamped pieces [3, t, H, W] float32 in time order.
  void decode_unclamped(const at::Tensor& latent, const DecodeOptions& options,
                        const std::function<void(const at::Tensor&)>& on_frames) const;

  vae::WanVAEModel model_;
  at::Device device_;
  at::ScalarType dtype_;
  VAEDeviceTuning tuning_;
  at::Tensor mean_, inv_std_;  // float32 [z_dim, 1, 1, 1] on device_
};

}  // namespace wan
