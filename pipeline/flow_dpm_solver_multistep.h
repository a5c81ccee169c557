// DPM-Solver++ for flow matching (the reference's
// FlowDPMSolverMultistepScheduler as the pipelines build it): data (x0)
// prediction, second order ("midpoint"), first order at the first and the
// final step.
//
// The schedule starts at sigma = 1, where log(alpha) = log(0) = -inf; the
// update formulas are evaluated with IEEE infinities exactly as the reference
// evaluates them (h = inf, exp(-h) = 0, 1/r = 0), so no special case exists.
#pragma once
#include <array>

#include "pipeline/flow_scheduler.h"

namespace wan {

class FlowDPMSolverMultistep : public FlowScheduler {
 public:
  void set_timesteps(int steps, double shift) override;

 protected:
  at::Tensor update(const at::Tensor& model_output, const at::Tensor& sample, int index) override;

 private:
  static constexpr int kSolverOrder = 2;

  at::Tensor first_order_update(const at::Tensor& x0, const at::Tensor& sample, int index) const;
  at::Tensor second_order_update(const at::Tensor& sample, int index) const;
  at::Tensor lambda(int i) const;

  std::array<at::Tensor, kSolverOrder> x0_history_;  // data predictions, newest last
  int lower_order_nums_ = 0;
};

}  // namespace wan
