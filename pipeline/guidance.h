// Classifier-free guidance: the denoiser's flow prediction with the prompt (cond) and with
// the negative prompt (uncond), combined as uncond + scale * (cond - uncond).
#pragma once
#include <ATen/ATen.h>

#include "pipeline/denoiser.h"

namespace wan {

struct GuidedPrediction {
  at::Tensor cond, uncond;  // undefined when the scale made that pass unnecessary
  at::Tensor guided;        // what the solver gets
};

// A scale of 1 needs only the cond pass, a scale of 0 only the uncond one, unless
// `both_branches` asks for both (and the combination) anyway.
GuidedPrediction guided_prediction(Denoiser& denoiser, const at::Tensor& latent, const at::Tensor& timestep,
                                   const DiTConditioning& c, double scale, bool both_branches = false);

}  // namespace wan
