#include "pipeline/flow_dpm_solver_multistep.h"

#include <algorithm>

#include "pipeline/flow_sigmas.h"

namespace wan {

void FlowDPMSolverMultistep::set_timesteps(int steps, double shift) {
  FlowSchedule s = make_flow_schedule(dpm_sampling_sigmas(steps, shift), kNumTrainTimesteps);
  set_schedule(s.timesteps, s.sigmas);
  x0_history_ = {};
  lower_order_nums_ = 0;
}

at::Tensor FlowDPMSolverMultistep::lambda(int i) const {
  const at::Tensor s = sigma(i);
  return at::log(1 - s) - at::log(s);
}

at::Tensor FlowDPMSolverMultistep::update(const at::Tensor& model_output, const at::Tensor& sample, int index) {
  // The final sigma is 0, which makes the last step first order whatever the
  // number of steps. (The reference's "lower order second-to-last step below
  // 15 steps" means second instead of third order: nothing changes at order 2.)
  const bool lower_order_final = index == num_steps() - 1;

  const at::Tensor x0 = sample - sigma(index) * model_output;
  for (int i = 0; i + 1 < kSolverOrder; ++i) x0_history_[i] = x0_history_[i + 1];
  x0_history_[kSolverOrder - 1] = x0;

  at::Tensor next = (lower_order_nums_ < 1 || lower_order_final) ? first_order_update(x0, sample, index)
                                                                 : second_order_update(sample, index);
  lower_order_nums_ = std::min(lower_order_nums_ + 1, kSolverOrder);
  return next;
}

at::Tensor FlowDPMSolverMultistep::first_order_update(const at::Tensor& x0, const at::Tensor& sample, int index) const {
  const at::Tensor sigma_t = sigma(index + 1), sigma_s = sigma(index);
  const at::Tensor alpha_t = 1 - sigma_t;
  const at::Tensor h = lambda(index + 1) - lambda(index);
  return (sigma_t / sigma_s) * sample - (alpha_t * (at::exp(-h) - 1.0)) * x0;
}

at::Tensor FlowDPMSolverMultistep::second_order_update(const at::Tensor& sample, int index) const {
  const at::Tensor sigma_t = sigma(index + 1), sigma_s0 = sigma(index);
  const at::Tensor alpha_t = 1 - sigma_t;
  const at::Tensor lambda_t = lambda(index + 1), lambda_s0 = lambda(index), lambda_s1 = lambda(index - 1);
  const at::Tensor& m0 = x0_history_[kSolverOrder - 1];
  const at::Tensor& m1 = x0_history_[kSolverOrder - 2];

  const at::Tensor h = lambda_t - lambda_s0, h_0 = lambda_s0 - lambda_s1;
  const at::Tensor r0 = h_0 / h;
  const at::Tensor D0 = m0, D1 = (1.0 / r0) * (m0 - m1);
  const at::Tensor a = alpha_t * (at::exp(-h) - 1.0);
  return (sigma_t / sigma_s0) * sample - a * D0 - (0.5 * a) * D1;
}

}  // namespace wan
