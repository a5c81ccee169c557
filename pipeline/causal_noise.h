// The random draws of a causal (chunk-wise autoregressive) generation: each chunk's
// starting noise and, after every denoising step but the last, the noise that re-noises
// its prediction. Latents are [C, frames, H, W] (the DiT's layout).
#pragma once
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace wan {

class CausalNoise {
 public:
  virtual ~CausalNoise() = default;
  // Standard-normal float32 [C, frames, H, W] for frames [first_frame, first_frame + frames):
  // the chunk's starting noise (step -1), or the re-noising draw after denoising step `step`.
  virtual at::Tensor draw(int64_t first_frame, int64_t frames, int step, at::IntArrayRef frame_shape) = 0;
  // A new video (the draws start over).
  virtual void reset() {}
};

// Draws from one CPU generator seeded with `seed`, chunk by chunk in the order they are
// needed (a chunk's noise, then its re-noising draws), so a seed gives the same video
// however long the stream runs. Float32 drawn on the CPU, moved to `device`.
class SeededCausalNoise : public CausalNoise {
 public:
  SeededCausalNoise(uint64_t seed, const at::Device& device = at::kCPU);
  at::Tensor draw(int64_t first_frame, int64_t frames, int step, at::IntArrayRef frame_shape) override;
  void reset() override;

 private:
  uint64_t seed_;
  at::Device device_;
  at::Generator generator_;
};

// Replays stored draws (the reference cases): noise [C, F, H, W] for every frame of the
// video, renoise [S - 1, C, F, H, W] (the draw of step i for frame f at [i, :, f]).
class ReplayedCausalNoise : public CausalNoise {
 public:
  ReplayedCausalNoise(at::Tensor noise, at::Tensor renoise);
  at::Tensor draw(int64_t first_frame, int64_t frames, int step, at::IntArrayRef frame_shape) override;

 private:
  at::Tensor noise_, renoise_;
};

}  // namespace wan
