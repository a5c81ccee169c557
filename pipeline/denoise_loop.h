// The sampling loop: from the initial noise, one guided prediction and one solver update
// per timestep.
#pragma once
#include <functional>

#include <ATen/ATen.h>

#include "pipeline/denoiser.h"
#include "pipeline/flow_scheduler.h"
#include "pipeline/guidance.h"

namespace wan {

struct DenoiseStep {
  int index = 0;  // 0-based
  double timestep = 0;
  double sigma = 0;  // the schedule's noise level at this step
  const GuidedPrediction* prediction = nullptr;
  at::Tensor sample;  // the latent the prediction was made at
  at::Tensor latent;  // after the solver update
};

struct DenoiseOptions {
  double guidance_scale = 5.0;
  // Run both branches at every scale, as the official code does (scales 1 and 0 otherwise
  // skip the branch they ignore): for comparing a step cache's decisions with a reference.
  bool both_branches = false;
  std::function<void(const DenoiseStep&)> on_step;  // after every step; throws to abandon the loop
};

// `scheduler` must have its timesteps set. Returns the final latent (float32). Throws
// wan::Error naming the step when a step leaves non-finite values in the latent.
at::Tensor denoise(Denoiser& denoiser, FlowScheduler& scheduler, const at::Tensor& noise, const DiTConditioning& c,
                   const DenoiseOptions& options);

}  // namespace wan
