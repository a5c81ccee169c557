#include "pipeline/denoiser.h"

#include "pipeline/step_cache.h"

namespace wan {

std::vector<at::Tensor> WanDenoiser::forward(const at::Tensor& latent, const at::Tensor& timestep,
                                             const std::vector<Branch>& branches, const DiTConditioning& c) {
  const size_t n = branches.size();
  std::vector<at::Tensor> latents(n, latent), contexts, y;
  for (Branch b : branches) contexts.push_back(b == Branch::Cond ? c.context : c.context_null);
  if (c.y.defined()) y.assign(n, c.y);
  // flf2v features are per-sample pairs (rows 2b, 2b+1): repeating the block keeps each
  // sample's pair together.
  at::Tensor clip_fea = c.clip_fea;
  if (clip_fea.defined() && n > 1) clip_fea = at::cat(std::vector<at::Tensor>(n, c.clip_fea));
  if (cache_ && cache_->reuses_predictions()) {  // one branch with a cache
    at::Tensor reused = cache_->reuse_prediction(branches.at(0), latent);
    if (reused.defined()) return {reused};
    std::vector<at::Tensor> out = dit_.forward(latents, timestep.repeat({static_cast<int64_t>(n)}), contexts, c.seq_len,
                                               clip_fea, y, between_blocks_);
    cache_->predicted(out.at(0));
    return out;
  }
  BlockReuse* reuse = cache_ ? &cache_->next_forward(branches.at(0)) : nullptr;
  return dit_.forward(latents, timestep.repeat({static_cast<int64_t>(n)}), contexts, c.seq_len, clip_fea, y,
                      between_blocks_, reuse);
}

std::vector<at::Tensor> WanDenoiser::predict(const at::Tensor& latent, const at::Tensor& timestep,
                                             const std::vector<Branch>& branches, const DiTConditioning& c) {
  if (batch_branches_) return forward(latent, timestep, branches, c);
  std::vector<at::Tensor> out;
  for (Branch b : branches) out.push_back(forward(latent, timestep, {b}, c)[0]);
  return out;
}

}  // namespace wan
