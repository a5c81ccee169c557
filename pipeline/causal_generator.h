// Chunk-wise autoregressive text-to-video generation with a KV cache (Self-Forcing's
// CausalInferencePipeline, the core of live mode): the video is generated a few latent
// frames (a chunk) at a time; each chunk is denoised in a few steps while attending to the
// clean frames before it, then one more DiT pass at t = context_noise on its result leaves
// the clean frames' keys and values in the cache for the chunks after it.
//
// Per chunk and step i: flow = DiT(x, T[i]); x0 = x - sigma(T[i]) flow (in float64); unless
// it is the last step, x = (1 - sigma(T[i+1])) x0 + sigma(T[i+1]) eps with fresh noise eps.
// The schedule is the step-distilled one (FlowStepDistill: the warped timesteps T).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/ATen.h>

#include "models/dit/causal_cache.h"
#include "models/dit/wan_model.h"
#include "pipeline/causal_noise.h"
#include "pipeline/pipeline.h"

namespace wan {

// Self-Forcing's inference settings (its configs/self_forcing_dmd.yaml are the defaults).
struct CausalSettings {
  std::vector<int> denoising_steps{1000, 750, 500, 250};
  // Self-Forcing's warp_denoising_step: the steps index the shifted table and the DiT receives
  // its timesteps; false: the DiT receives the steps themselves (see FlowStepDistill).
  bool warp_denoising_steps = true;
  double timestep_shift = 5.0;
  int64_t frames_per_chunk = 3;          // num_frame_per_block
  bool independent_first_frame = false;  // chunk 0 is frame 0 alone
  double context_noise = 0;              // timestep of the cache-update pass
  int64_t local_attn_size = -1;          // attention window in frames (-1: every earlier frame)
  int64_t sink_size = 0;                 // frames at the start that never leave the window
  // Throws wan::Error naming the first setting that cannot run.
  void validate() const;
};

// A finished chunk: its latents [C, frames, H, W] float32, frames [first_frame, first_frame + frames).
struct CausalChunk {
  int64_t index = 0;
  int64_t first_frame = 0;
  at::Tensor latents;
};

class CausalGenerator {
 public:
  // model: a t2v DiT holding causal (Self-Forcing) weights; latent frames of
  // latent_height x latent_width (multiples of the patch size).
  CausalGenerator(WanModel model, CausalSettings settings, int64_t latent_height, int64_t latent_width);

  // The prompt's text embedding [L <= text_len, text_dim] (the umT5 output), used from the
  // next chunk on; the frames already generated stay in the cache.
  void set_context(const at::Tensor& context);

  // Generates the next chunk (the context must be set). A cancelled chunk throws Cancelled
  // and leaves the generator ready to generate that chunk again (replayed draws repeat;
  // seeded ones go on, so the retried chunk takes fresh noise).
  CausalChunk next_chunk(CausalNoise& noise, const CancelToken* cancel = nullptr);

  // A whole video of `frames` latent frames from chunk 0 (reset() and noise.reset() first):
  // next_chunk until done, on_chunk after each. Returns the latents [C, frames, H, W].
  at::Tensor generate(int64_t frames, CausalNoise& noise, const std::function<void(const CausalChunk&)>& on_chunk = {},
                      const CancelToken* cancel = nullptr);

  // A new video: the next chunk is chunk 0 again (the context stays set).
  void reset();

  // Frames of chunk `index`: 1 for chunk 0 with independent_first_frame, else frames_per_chunk.
  int64_t chunk_frames(int64_t index) const;
  int64_t next_frame() const { return next_frame_; }
  int64_t chunks_done() const { return chunks_done_; }
  const at::Tensor& timesteps() const { return timesteps_; }  // T, float32 [steps]
  const CausalSettings& settings() const { return settings_; }
  const dit::CausalCache& cache() const { return cache_; }
  WanModelImpl& model() { return *model_; }

  // After every denoising step of a chunk: its x0 prediction [C, frames, H, W].
  std::function<void(const CausalChunk& chunk, int step, const at::Tensor& x0)> on_step;

 private:
  at::Tensor flow(const at::Tensor& x, const at::Tensor& t, int64_t first_frame, const CancelToken* cancel);

  WanModel model_;
  CausalSettings settings_;
  int64_t height_, width_;
  at::Tensor timesteps_;  // float32 [S], CPU
  at::Tensor sigmas_;     // float32 [S + 1], on the model's device
  at::Tensor context_;
  dit::CausalCache cache_;
  int64_t next_frame_ = 0;
  int64_t chunks_done_ = 0;
};

}  // namespace wan
