#include "pipeline/easy_cache.h"

#include <string>

#include "models/common/error.h"

namespace wan {
namespace {

float mean_abs(const at::Tensor& t) { return t.abs().mean().item<float>(); }

}  // namespace

EasyCache::EasyCache(double threshold, int warmup_steps, int steps)
    // The reference compares its float32 accumulator with the threshold in float32.
    : threshold_(static_cast<float>(threshold)),
      warmup_forwards_(2 * warmup_steps),
      cutoff_(2 * steps - 2),
      num_forwards_(2 * steps) {}

at::Tensor EasyCache::reuse(Branch branch, const at::Tensor& latent) {
  current_ = branch == Branch::Cond ? 0 : 1;
  BranchState& b = branches_[current_];
  const int n = 2 * b.calls++ + current_, step = n / 2;
  if (n >= num_forwards_)
    throw Error("step cache: forward " + std::to_string(n) + " of a " + std::to_string(num_forwards_ / 2) +
                "-step generation");
  bool run = true;
  if (current_ == 0) {
    if (n < warmup_forwards_ || n >= cutoff_) {
      accumulated_ = 0;
    } else if (previous_latent_.defined() && computed_output_.defined() && k_) {
      const float input_change = mean_abs(latent - previous_latent_);
      accumulated_ += *k_ * (input_change / mean_abs(computed_output_));
      if (accumulated_ < threshold_)
        run = false;
      else
        accumulated_ = 0;
    }
    previous_latent_ = latent.clone();
    decided_step_ = step, decided_run_ = run;
  } else {
    run = decided_step_ != step || decided_run_;
  }
  if (!b.residual.defined()) run = true;
  current_latent_ = latent;
  return run ? at::Tensor() : (latent + b.residual).to(at::kFloat);
}

void EasyCache::computed(const at::Tensor& prediction) {
  if (current_ == 0) {
    if (computed_output_.defined() && computed_latent_.defined())
      k_ = mean_abs(prediction - computed_output_) / mean_abs(current_latent_ - computed_latent_);
    computed_latent_ = current_latent_.clone();
    computed_output_ = prediction.clone();
  }
  branches_[current_].residual = prediction - current_latent_;
}

}  // namespace wan
