#include "pipeline/step_cache.h"

#include <cmath>
#include <string>

#include "models/common/error.h"

namespace wan {

CacheModel cache_model_for(const DiTConfig& dit, int width, int height) {
  if (dit.model_type == DiTModelType::T2V) return dit.dim <= 2048 ? CacheModel::T2V_1_3B : CacheModel::T2V_14B;
  if (dit.model_type == DiTModelType::I2V && static_cast<int64_t>(width) * height <= 832 * 480)
    return CacheModel::I2V_480P;
  return CacheModel::I2V_720P;
}

std::vector<double> nearest_interp(const std::vector<double>& source, int target) {
  if (target == 1) return {source.back()};
  const double scale = static_cast<double>(source.size() - 1) / (target - 1);
  std::vector<double> out;
  for (int i = 0; i < target; ++i) out.push_back(source.at(static_cast<size_t>(std::nearbyint(i * scale))));
  return out;
}

StepCache::StepCache(const StepCacheSettings& settings, CacheModel model, int steps)
    : settings_(settings), num_forwards_(2 * steps) {
  if (steps < 1) throw Error("step cache: at least one step");
  switch (settings.method) {
    case CacheMethod::TeaCache:
      tea_ = teacache_calibration(model, settings.teacache_ret_steps);
      threshold_ = settings.threshold.value_or(tea_.default_threshold);
      break;
    case CacheMethod::MagCache: {
      threshold_ = settings.threshold.value_or(0.12);
      max_skips_ = settings.max_skips.value_or(2);
      retention_ratio_ = settings.retention_ratio.value_or(0.2);
      mag_ratios_ = magcache_ratios(model);
      if (static_cast<int>(mag_ratios_.size()) != num_forwards_) {
        std::vector<double> cond, uncond;
        for (size_t i = 0; i < mag_ratios_.size(); ++i) (i % 2 ? uncond : cond).push_back(mag_ratios_[i]);
        cond = nearest_interp(cond, steps), uncond = nearest_interp(uncond, steps);
        mag_ratios_.clear();
        for (int i = 0; i < steps; ++i) mag_ratios_.push_back(cond[i]), mag_ratios_.push_back(uncond[i]);
      }
      break;
    }
    case CacheMethod::EasyCache:
      threshold_ = settings.threshold.value_or(EasyCache::kDefaultThreshold);
      easy_.emplace(threshold_, settings.warmup_steps.value_or(EasyCache::kDefaultWarmupSteps), steps);
      break;
    case CacheMethod::None: throw Error("step cache: no method");
  }
  for (int b = 0; b < 2; ++b) branches_[b].cache = this, branches_[b].parity = b;
}

BlockReuse& StepCache::next_forward(Branch branch) {
  if (easy_) throw Error("step cache: EasyCache reuses whole predictions, not the blocks");
  BranchState& b = branches_[branch == Branch::Cond ? 0 : 1];
  b.n = 2 * b.calls++ + b.parity;
  return b;
}

at::Tensor StepCache::reuse_prediction(Branch branch, const at::Tensor& latent) {
  at::Tensor reused = easy_.value().reuse(branch, latent);
  computed_.push_back(!reused.defined());
  return reused;
}

void StepCache::predicted(const at::Tensor& prediction) { easy_.value().computed(prediction); }

int64_t StepCache::reused_count() const {
  int64_t n = 0;
  for (bool c : computed_) n += !c;
  return n;
}

bool StepCache::teacache_skips(BranchState& b, const at::Tensor& e, const at::Tensor& e0) {
  // ret_steps variant: decide on e0 from forward 10 on, to the end; otherwise on e, from
  // forward 2 to the last step's pair.
  const bool ret = settings_.teacache_ret_steps;
  const at::Tensor modulated = (ret ? e0 : e).to(at::kFloat);
  const int first = ret ? 10 : 2, cutoff = ret ? num_forwards_ : num_forwards_ - 2;
  bool skip = false;
  if (b.n < first || b.n >= cutoff || !b.previous.defined()) {
    b.accumulated = 0;
  } else {
    // float32 means, their quotient in float32 as the reference's .item() of a tensor.
    const float rel = ((modulated - b.previous).abs().mean() / b.previous.abs().mean()).item<float>();
    double poly = 0;
    for (double c : tea_.coefficients) poly = poly * static_cast<double>(rel) + c;
    b.accumulated += poly;
    if (b.accumulated < threshold_)
      skip = true;
    else
      b.accumulated = 0;
  }
  b.previous = modulated.clone();
  return skip;
}

bool StepCache::magcache_skips(BranchState& b) {
  if (b.n < static_cast<int>(num_forwards_ * retention_ratio_)) return false;
  b.ratio *= mag_ratios_.at(static_cast<size_t>(b.n));
  b.skipped += 1;
  b.error += std::abs(1 - b.ratio);
  if (b.error < threshold_ && b.skipped <= max_skips_) return true;
  b.ratio = 1.0, b.skipped = 0, b.error = 0.0;
  return false;
}

at::Tensor StepCache::BranchState::reuse(const at::Tensor& e, const at::Tensor& e0) {
  if (n >= cache->num_forwards_)
    throw Error("step cache: forward " + std::to_string(n) + " of a " + std::to_string(cache->num_forwards_ / 2) +
                "-step generation");
  bool skip = cache->settings_.method == CacheMethod::TeaCache ? cache->teacache_skips(*this, e, e0)
                                                               : cache->magcache_skips(*this);
  // The references would fail here (no residual yet); the blocks run, and the decision state
  // resets as after any computed forward.
  if (skip && !residual.defined()) {
    skip = false;
    accumulated = 0, ratio = 1.0, skipped = 0, error = 0.0;
  }
  cache->computed_.push_back(!skip);
  return skip ? residual : at::Tensor();
}

void StepCache::BranchState::computed(const at::Tensor& r) { residual = r; }

}  // namespace wan
