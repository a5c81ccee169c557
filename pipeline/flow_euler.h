// Plain Euler integration of the flow ODE: x <- x + (sigma_next - sigma) * v,
// on the same sigma schedule as UniPC.
#pragma once
#include "pipeline/flow_scheduler.h"

namespace wan {

class FlowEuler : public FlowScheduler {
 public:
  void set_timesteps(int steps, double shift) override;

 protected:
  at::Tensor update(const at::Tensor& model_output, const at::Tensor& sample, int index) override;
};

}  // namespace wan
