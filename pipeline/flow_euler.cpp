#include "pipeline/flow_euler.h"

#include "pipeline/flow_sigmas.h"

namespace wan {

void FlowEuler::set_timesteps(int steps, double shift) {
  FlowSchedule s = make_flow_schedule(unipc_sampling_sigmas(steps, shift, kNumTrainTimesteps), kNumTrainTimesteps);
  set_schedule(s.timesteps, s.sigmas);
}

at::Tensor FlowEuler::update(const at::Tensor& model_output, const at::Tensor& sample, int index) {
  return sample + (sigma(index + 1) - sigma(index)) * model_output;
}

}  // namespace wan
