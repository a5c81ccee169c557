// What the sampling loop asks of a model: the flow prediction for a latent at a timestep,
// under the prompt (cond) and / or the negative prompt (uncond), with the request's
// conditioning. The Wan DiT is one Denoiser; step caching (a wrapper that may reuse an
// earlier prediction) and a two-expert model (high-noise / low-noise DiTs, switching at a
// timestep) plug in here, without the loop or guidance knowing.
#pragma once
#include <functional>
#include <vector>

#include <ATen/ATen.h>

#include "models/dit/wan_model.h"

namespace wan {

// Everything the DiT sees besides the latent and the timestep.
struct DiTConditioning {
  at::Tensor context;       // [L, text_dim] prompt
  at::Tensor context_null;  // [L', text_dim] negative prompt
  at::Tensor clip_fea;      // i2v [1, 257, 1280], flf2v [2, 257, 1280]; undefined for t2v
  at::Tensor y;             // [4 + z_dim, F, h, w]; undefined for t2v
  int64_t seq_len = 0;
};

// Which prompt a prediction is made under.
enum class Branch { Cond, Uncond };

class Denoiser {
 public:
  virtual ~Denoiser() = default;
  // One prediction (float32, the latent's shape) per branch, in order; several branches
  // may run as one batch. timestep: [1], int64 or float32.
  virtual std::vector<at::Tensor> predict(const at::Tensor& latent, const at::Tensor& timestep,
                                          const std::vector<Branch>& branches, const DiTConditioning& c) = 0;
};

class StepCache;

// The Wan DiT as a Denoiser: several branches run as one batch when `batch_branches`. With a
// step cache, each branch runs alone (each decides for itself whether its blocks run).
class WanDenoiser : public Denoiser {
 public:
  WanDenoiser(WanModelImpl& dit, bool batch_branches, BetweenBlocks between_blocks = {}, StepCache* cache = nullptr)
      : dit_(dit),
        batch_branches_(batch_branches && !cache),
        between_blocks_(std::move(between_blocks)),
        cache_(cache) {}
  std::vector<at::Tensor> predict(const at::Tensor& latent, const at::Tensor& timestep,
                                  const std::vector<Branch>& branches, const DiTConditioning& c) override;

 private:
  std::vector<at::Tensor> forward(const at::Tensor& latent, const at::Tensor& timestep,
                                  const std::vector<Branch>& branches, const DiTConditioning& c);
  WanModelImpl& dit_;
  bool batch_branches_;
  BetweenBlocks between_blocks_;
  StepCache* cache_;
};

}  // namespace wan
