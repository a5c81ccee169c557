#include "pipeline/guidance.h"

namespace wan {
namespace {

at::Tensor forward_one(WanModelImpl& dit, const at::Tensor& latent, const at::Tensor& timestep,
                       const at::Tensor& context, const DiTConditioning& c, const BetweenBlocks& between_blocks) {
  std::vector<at::Tensor> y;
  if (c.y.defined()) y.push_back(c.y);
  return dit.forward({latent}, timestep, {context}, c.seq_len, c.clip_fea, y, between_blocks)[0];
}

}  // namespace

GuidedPrediction guided_prediction(WanModelImpl& dit, const at::Tensor& latent, const at::Tensor& timestep,
                                   const DiTConditioning& c, double scale, bool batched,
                                   const BetweenBlocks& between_blocks) {
  GuidedPrediction p;
  if (scale == 1.0) {
    p.cond = forward_one(dit, latent, timestep, c.context, c, between_blocks);
    p.guided = p.cond;
    return p;
  }
  if (scale == 0.0) {
    p.uncond = forward_one(dit, latent, timestep, c.context_null, c, between_blocks);
    p.guided = p.uncond;
    return p;
  }
  if (batched) {
    std::vector<at::Tensor> y;
    if (c.y.defined()) y = {c.y, c.y};
    // flf2v features are per sample pairs (rows 2b, 2b+1): repeating the
    // block keeps each sample's pair together.
    const at::Tensor clip_fea = c.clip_fea.defined() ? at::cat({c.clip_fea, c.clip_fea}) : at::Tensor();
    auto out = dit.forward({latent, latent}, timestep.repeat({2}), {c.context, c.context_null}, c.seq_len, clip_fea,
                           y, between_blocks);
    p.cond = out[0];
    p.uncond = out[1];
  } else {
    p.cond = forward_one(dit, latent, timestep, c.context, c, between_blocks);
    p.uncond = forward_one(dit, latent, timestep, c.context_null, c, between_blocks);
  }
  p.guided = p.uncond + scale * (p.cond - p.uncond);
  return p;
}

}  // namespace wan
