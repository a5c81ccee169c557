// EasyCache: calibration-free step caching (no per-model tables, so it serves LoRA-modified
// and distilled models and any step count), ported from H-EmbodVis/EasyCache @
// 51278044023e678bb4026a264b02a6721f6dd395, EasyCache4Wan2.1/easycache_generate.py:
// `easycache_forward` and the parameters `generate` sets on the model.
//
// Forwards are numbered n = 2 * step + (0 cond, 1 uncond) as in pipeline/step_cache.h.
// * Forward n of the cond branch decides for the step: n < 2 * warmup_steps or
//   n >= 2 * steps - 2: run, acc = 0. Otherwise, once a cond forward has run before:
//   without k yet: run (acc kept); with k: acc += k * mean|x - x_prev| / mean|out_c|, where
//   x_prev is the latent of the previous cond forward (run or not) and out_c the output of
//   the last run one; acc < threshold: reuse, else run and acc = 0.
// * After a cond forward runs: k = mean|out - out_c| / mean|x - x_c| against the last run
//   cond forward (x_c its latent), from the second run one on.
// * The uncond forward of a step follows the cond forward's decision of that step (runs when
//   there was none).
// * A reused forward predicts x + (out - x) of its branch's last run forward.
// Means are float32 over all elements; k, the quotients and acc float32 as the reference's
// 0-dim tensors.
//
// Surprises of the reference:
// * its `--ret_steps` (default 10), `--alpha` and `--beta` flags are parsed but unused:
//   generate() hard-codes ret_steps = 10 * 2 forwards (our warm-up default);
// * unlike TeaCache and MagCache, only the cond forward decides, and what it caches is the
//   whole model's output - input (patch embedding and head skipped too), not the blocks'
//   residual: so it works on predictions here, not through the DiT's BlockReuse hook;
// * k divides by the latent's change between run cond forwards: an unchanged latent gives
//   inf / NaN, after which every forward runs (kept as is).
#pragma once
#include <optional>

#include <ATen/ATen.h>

#include "pipeline/denoiser.h"

namespace wan {

class EasyCache {
 public:
  static constexpr double kDefaultThreshold = 0.05;  // the script's --thresh
  static constexpr int kDefaultWarmupSteps = 10;

  EasyCache(double threshold, int warmup_steps, int steps);

  // Before the next forward of `branch`: the prediction to use instead of running it, or an
  // undefined tensor to run it (then pass its prediction to computed()).
  at::Tensor reuse(Branch branch, const at::Tensor& latent);
  void computed(const at::Tensor& prediction);

 private:
  struct BranchState {
    int calls = 0;
    at::Tensor residual;  // output - latent of the last run forward
  };
  float threshold_;
  int warmup_forwards_, cutoff_, num_forwards_;
  BranchState branches_[2];
  int current_ = 0;
  at::Tensor current_latent_;
  // The cond branch's decision state.
  at::Tensor previous_latent_;  // of the previous cond forward
  at::Tensor computed_latent_;  // of the last run cond forward
  at::Tensor computed_output_;  // its output
  std::optional<float> k_;
  float accumulated_ = 0;
  int decided_step_ = -1;  // the step of the last cond decision, and whether it runs
  bool decided_run_ = true;
};

}  // namespace wan
