#include "pipeline/flow_step_distill.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>

#include "models/common/error.h"
#include "pipeline/seeded_noise.h"

namespace wan {

std::vector<int> default_distill_steps(int steps) {
  if (steps < 1 || steps > 1000) throw Error("distill sampler: steps must be 1 to 1000, got " + std::to_string(steps));
  std::vector<int> list;
  for (int k = 0; k < steps; ++k) list.push_back(static_cast<int>(std::lround(1000.0 * (steps - k) / steps)));
  return list;
}

void check_distill_steps(const std::vector<int>& list) {
  if (list.empty()) throw Error("timesteps: the list of denoising steps is empty");
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] < 1 || list[i] > 1000)
      throw Error("timesteps: " + std::to_string(list[i]) + " is outside 1..1000 (integers in (0, 1000])");
    if (i > 0 && list[i] >= list[i - 1])
      throw Error("timesteps: the list must decrease strictly (" + std::to_string(list[i - 1]) + " then " +
                  std::to_string(list[i]) + ")");
  }
}

std::vector<int> parse_distill_steps(const std::string& text) {
  std::vector<int> list;
  if (text.find_first_not_of(" \t") == std::string::npos) return list;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const long value = std::strtol(item.c_str(), &end, 10);
    const bool rest_blank = end && std::string(end).find_first_not_of(" \t") == std::string::npos;
    if (item.find_first_not_of(" \t") == std::string::npos || !rest_blank || value < 1 || value > 1000)
      throw Error("timesteps '" + text + "': '" + item + "' is not an integer in 1..1000");
    list.push_back(static_cast<int>(value));
    start = comma + 1;
  }
  check_distill_steps(list);
  return list;
}

void FlowStepDistill::set_timesteps(int steps, double shift) {
  set_denoising_steps(default_distill_steps(steps), shift);
}

std::pair<at::Tensor, at::Tensor> FlowStepDistill::shifted_table(double shift) {
  // LightX2V's float32 tensor arithmetic, op for op.
  at::Tensor s = at::linspace(1.0, 0.0, kNumTrainTimesteps + 1, at::kFloat).slice(0, 0, kNumTrainTimesteps);
  s = s.mul(shift).div(s.mul(shift - 1).add(1));
  return {s, s.mul(kNumTrainTimesteps)};
}

void FlowStepDistill::set_denoising_steps(const std::vector<int>& list, double shift) {
  check_distill_steps(list);
  const auto [s, t] = shifted_table(shift);
  std::vector<int64_t> index;
  for (int step : list) index.push_back(kNumTrainTimesteps - step);
  const at::Tensor idx = at::tensor(index, at::kLong);
  set_schedule(t.index_select(0, idx), at::cat({s.index_select(0, idx), at::zeros({1}, at::kFloat)}));
}

void FlowStepDistill::set_unwarped_denoising_steps(const std::vector<int>& list, double shift) {
  check_distill_steps(list);
  const auto [s, t] = shifted_table(shift);
  const at::Tensor steps = at::tensor(std::vector<int64_t>(list.begin(), list.end()), at::kLong);
  // |t_k - T| in float32 (int64 T promoted), as the reference's FlowMatchScheduler takes it.
  const at::Tensor idx = (t.unsqueeze(0) - steps.unsqueeze(1)).abs().argmin(1);
  set_schedule(steps.to(at::kFloat), at::cat({s.index_select(0, idx), at::zeros({1}, at::kFloat)}));
}

at::Tensor FlowStepDistill::update(const at::Tensor& model_output, const at::Tensor& sample, int index) {
  const at::Tensor x0 = sample - sigma(index) * model_output;
  if (index + 1 == num_steps()) return x0;
  return x0 + model_output * sigma(index + 1);
}

at::Tensor FlowRenoise::update(const at::Tensor& model_output, const at::Tensor& sample, int index) {
  const at::Tensor x0 = sample - sigma(index) * model_output;
  if (index + 1 == num_steps()) return x0;
  const at::Tensor next = sigma(index + 1);
  const at::Tensor noise =
      seeded_randn(sample.sizes().vec(), seed_ + 1 + static_cast<uint64_t>(index), at::kCPU).to(sample.device());
  return (1 - next) * x0 + next * noise;
}

}  // namespace wan
