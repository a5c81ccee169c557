#include "pipeline/denoise_loop.h"

#include <c10/core/GradMode.h>

#include <string>

#include "models/common/error.h"

namespace wan {

at::Tensor denoise(Denoiser& denoiser, FlowScheduler& scheduler, const at::Tensor& noise, const DiTConditioning& c,
                   const DenoiseOptions& options) {
  c10::AutoGradMode no_grad(false);
  at::Tensor latent = noise.to(at::kFloat);
  const at::Tensor timesteps = scheduler.timesteps();
  for (int i = 0; i < scheduler.num_steps(); ++i) {
    const double t = timesteps[i].item<double>();
    // In the schedule's own dtype: integers for the official solvers, floats for distilled ones.
    const at::Tensor timestep = timesteps.slice(0, i, i + 1).to(latent.device());
    const GuidedPrediction p = guided_prediction(denoiser, latent, timestep, c, options.guidance_scale, options.both_branches);
    const at::Tensor sample = latent;
    latent = scheduler.step(p.guided, t, latent);
    // NaN weights (or an fp16 overflow) would otherwise decode to a black video without a word.
    if (!at::isfinite(latent).all().item<bool>())
      throw Error("denoising step " + std::to_string(i + 1) + " of " + std::to_string(scheduler.num_steps()) +
                  " gave non-finite values (NaN or infinity): the model's weights or inputs hold them, or the "
                  "dtype overflowed");
    if (options.on_step) options.on_step(DenoiseStep{i, t, scheduler.sigmas()[i].item<double>(), &p, sample, latent});
  }
  return latent;
}

}  // namespace wan
