#include "pipeline/flow_unipc_multistep.h"

#include <algorithm>

#include "pipeline/flow_sigmas.h"

namespace wan {

void FlowUniPCMultistep::set_timesteps(int steps, double shift) {
  FlowSchedule s = make_flow_schedule(unipc_sampling_sigmas(steps, shift, kNumTrainTimesteps), kNumTrainTimesteps);
  set_schedule(s.timesteps, s.sigmas);
  x0_history_ = {};
  last_sample_ = at::Tensor();
  lower_order_nums_ = 0;
  this_order_ = 1;
}

at::Tensor FlowUniPCMultistep::lambda(int i) const {
  const at::Tensor s = sigma(i);
  return at::log(1 - s) - at::log(s);
}

at::Tensor FlowUniPCMultistep::update(const at::Tensor& model_output, const at::Tensor& sample_in, int index) {
  const at::Tensor x0 = sample_in - sigma(index) * model_output;
  at::Tensor sample = sample_in;
  if (index > 0 && last_sample_.defined()) sample = correct(x0, last_sample_, index, this_order_);

  for (int i = 0; i + 1 < kSolverOrder; ++i) x0_history_[i] = x0_history_[i + 1];
  x0_history_[kSolverOrder - 1] = x0;

  // Lower order for the last step, and while the history fills up.
  const int order = std::min(kSolverOrder, num_steps() - index);
  this_order_ = std::min(order, lower_order_nums_ + 1);
  last_sample_ = sample;
  at::Tensor next = predict(sample, index, this_order_);
  lower_order_nums_ = std::min(lower_order_nums_ + 1, kSolverOrder);
  return next;
}

at::Tensor FlowUniPCMultistep::predict(const at::Tensor& x, int index, int order) const {
  const at::Tensor sigma_t = sigma(index + 1), sigma_s0 = sigma(index);
  const at::Tensor alpha_t = 1 - sigma_t;
  const at::Tensor lambda_s0 = lambda(index);
  const at::Tensor h = lambda(index + 1) - lambda_s0;
  const at::Tensor& m0 = x0_history_[kSolverOrder - 1];

  const at::Tensor hh = -h;
  const at::Tensor h_phi_1 = at::expm1(hh);
  const at::Tensor B_h = at::expm1(hh);

  at::Tensor x_t = sigma_t / sigma_s0 * x - alpha_t * h_phi_1 * m0;
  if (order == 2) {
    const at::Tensor rk = (lambda(index - 1) - lambda_s0) / h;
    const at::Tensor D1 = (x0_history_[kSolverOrder - 2] - m0) / rk;
    // The second-order predictor's rho is fixed at 1/2.
    x_t = x_t - alpha_t * B_h * (0.5 * D1);
  }
  return x_t;
}

at::Tensor FlowUniPCMultistep::correct(const at::Tensor& this_x0, const at::Tensor& x, int index, int order) const {
  const at::Tensor sigma_t = sigma(index), sigma_s0 = sigma(index - 1);
  const at::Tensor alpha_t = 1 - sigma_t;
  const at::Tensor lambda_s0 = lambda(index - 1);
  const at::Tensor h = lambda(index) - lambda_s0;
  const at::Tensor& m0 = x0_history_[kSolverOrder - 1];

  at::Tensor rk, D1;
  if (order == 2) {
    rk = (lambda(index - 2) - lambda_s0) / h;
    D1 = (x0_history_[kSolverOrder - 2] - m0) / rk;
  }

  const at::Tensor hh = -h;
  const at::Tensor h_phi_1 = at::expm1(hh);
  const at::Tensor B_h = at::expm1(hh);

  // rho solves R rho = b with R[i] = rk^i and b[i] = phi_{i+1}(h) * (i+1)! / B(h);
  // the first-order corrector uses rho = 1/2.
  at::Tensor rhos_c;
  if (order == 1) {
    rhos_c = at::full({1}, 0.5, at::kFloat);
  } else {
    const at::Tensor rks = at::stack({rk, at::ones({}, at::kFloat)});
    at::Tensor h_phi_k = h_phi_1 / hh - 1;
    std::vector<at::Tensor> R, b;
    int64_t factorial_i = 1;
    for (int i = 1; i <= order; ++i) {
      R.push_back(at::pow(rks, i - 1));
      b.push_back(h_phi_k * factorial_i / B_h);
      factorial_i *= i + 1;
      h_phi_k = h_phi_k / hh - 1.0 / static_cast<double>(factorial_i);
    }
    rhos_c = at::linalg_solve(at::stack(R), at::stack(b));
  }

  const at::Tensor x_t_ = sigma_t / sigma_s0 * x - alpha_t * h_phi_1 * m0;
  const at::Tensor D1_t = this_x0 - m0;
  at::Tensor correction = rhos_c[order - 1] * D1_t;
  if (order == 2) correction = rhos_c[0] * D1 + correction;
  return x_t_ - alpha_t * B_h * correction;
}

}  // namespace wan
