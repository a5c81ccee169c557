#include "pipeline/guidance.h"

namespace wan {

GuidedPrediction guided_prediction(Denoiser& denoiser, const at::Tensor& latent, const at::Tensor& timestep,
                                   const DiTConditioning& c, double scale, bool both_branches) {
  GuidedPrediction p;
  if (scale == 1.0 && !both_branches) {
    p.cond = p.guided = denoiser.predict(latent, timestep, {Branch::Cond}, c)[0];
    return p;
  }
  if (scale == 0.0 && !both_branches) {
    p.uncond = p.guided = denoiser.predict(latent, timestep, {Branch::Uncond}, c)[0];
    return p;
  }
  const std::vector<at::Tensor> out = denoiser.predict(latent, timestep, {Branch::Cond, Branch::Uncond}, c);
  p.cond = out[0];
  p.uncond = out[1];
  p.guided = p.uncond + scale * (p.cond - p.uncond);
  return p;
}

}  // namespace wan
