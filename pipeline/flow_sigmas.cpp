#include "pipeline/flow_sigmas.h"

#include <cstdint>

#include "models/common/error.h"

namespace wan {

std::vector<double> numpy_linspace(double start, double stop, int num) {
  std::vector<double> y(num > 0 ? num : 0);
  if (num == 1) y[0] = start;
  if (num < 2) return y;
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) {
    // Two separately rounded operations, as numpy does (the build disables
    // fused multiply-add contraction for this library).
    const double scaled = static_cast<double>(i) * step;
    y[i] = scaled + start;
  }
  y[num - 1] = stop;
  return y;
}

std::vector<double> shift_sigmas(const std::vector<double>& sigmas, double shift) {
  std::vector<double> out;
  out.reserve(sigmas.size());
  for (double s : sigmas) {
    const double numerator = shift * s;
    const double denominator = 1.0 + (shift - 1.0) * s;
    out.push_back(numerator / denominator);
  }
  return out;
}

std::vector<double> unipc_sampling_sigmas(int steps, double shift, int num_train_timesteps) {
  const double sigma_max = static_cast<float>(1.0 - 1.0 / num_train_timesteps);
  std::vector<double> s = numpy_linspace(sigma_max, 0.0, steps + 1);
  s.pop_back();
  return shift_sigmas(s, shift);
}

std::vector<double> dpm_sampling_sigmas(int steps, double shift) {
  std::vector<double> s = numpy_linspace(1.0, 0.0, steps + 1);
  s.pop_back();
  return shift_sigmas(s, shift);
}

FlowSchedule make_flow_schedule(const std::vector<double>& sigmas, int num_train_timesteps) {
  if (sigmas.empty()) throw Error("a sampling schedule needs at least one step");
  const int64_t n = static_cast<int64_t>(sigmas.size());
  FlowSchedule out;
  out.timesteps = at::empty({n}, at::kLong);
  out.sigmas = at::empty({n + 1}, at::kFloat);
  auto* t = out.timesteps.data_ptr<int64_t>();
  auto* s = out.sigmas.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    t[i] = static_cast<int64_t>(sigmas[i] * num_train_timesteps);
    s[i] = static_cast<float>(sigmas[i]);
  }
  s[n] = 0.0f;
  return out;
}

}  // namespace wan
