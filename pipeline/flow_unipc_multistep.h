// UniPC for flow matching (the reference's FlowUniPCMultistepScheduler as the
// pipelines build it): data (x0) prediction, B(h) = expm1(h) ("bh2"), order
// 2 with a first-order start and end, a UniC corrector before every predictor
// step but the first.
#pragma once
#include <array>

#include "pipeline/flow_scheduler.h"

namespace wan {

class FlowUniPCMultistep : public FlowScheduler {
 public:
  void set_timesteps(int steps, double shift) override;

 protected:
  at::Tensor update(const at::Tensor& model_output, const at::Tensor& sample, int index) override;

 private:
  static constexpr int kSolverOrder = 2;

  // UniP: the sample at sigmas[index + 1] from the one at sigmas[index].
  at::Tensor predict(const at::Tensor& sample, int index, int order) const;
  // UniC: the sample at sigmas[index] again, from `last_sample` (at
  // sigmas[index - 1]) and the data predictions on both ends, replacing the
  // predictor's result there.
  at::Tensor correct(const at::Tensor& this_x0, const at::Tensor& last_sample, int index, int order) const;
  // log(alpha) - log(sigma) with alpha = 1 - sigma, on the 0-d float32 sigma.
  at::Tensor lambda(int i) const;

  std::array<at::Tensor, kSolverOrder> x0_history_;  // data predictions, newest last
  at::Tensor last_sample_;
  int lower_order_nums_ = 0;
  int this_order_ = 1;
};

}  // namespace wan
