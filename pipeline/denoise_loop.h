// The sampling loop: from the initial noise, one guided DiT prediction and one
// solver update per timestep.
#pragma once
#include <functional>

#include <ATen/ATen.h>

#include "models/dit/wan_model.h"
#include "pipeline/flow_scheduler.h"
#include "pipeline/guidance.h"

namespace wan {

struct DenoiseStep {
  int index = 0;  // 0-based
  int64_t timestep = 0;
  const GuidedPrediction* prediction = nullptr;
  at::Tensor latent;  // after the solver update
};

struct DenoiseOptions {
  double guidance_scale = 5.0;
  bool batch_guidance = false;
  BetweenBlocks between_blocks;                      // throws to abandon the loop
  std::function<void(const DenoiseStep&)> on_step;  // after every step
};

// `scheduler` must have its timesteps set. Returns the final latent (float32).
at::Tensor denoise(WanModelImpl& dit, FlowScheduler& scheduler, const at::Tensor& noise, const DiTConditioning& c,
                   const DenoiseOptions& options);

}  // namespace wan
