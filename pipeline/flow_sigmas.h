// The sigma/timestep schedules of the flow-matching solvers, computed the way
// the reference computes them (float64 numpy arithmetic, then a float32 copy),
// so the int64 timesteps fed to the DiT match it exactly.
#pragma once
#include <vector>

#include <ATen/ATen.h>

namespace wan {

// numpy.linspace(start, stop, num) with its exact float64 rounding:
// i * ((stop - start) / (num - 1)) + start, the last element set to stop.
std::vector<double> numpy_linspace(double start, double stop, int num);

// The flow time shift s' = shift * s / (1 + (shift - 1) * s), in float64.
std::vector<double> shift_sigmas(const std::vector<double>& sigmas, double shift);

// UniPC / Euler: linspace(sigma_max, 0, steps + 1) without its last element,
// then shifted; sigma_max is the float32 rounding of 1 - 1/num_train_timesteps
// (the largest training sigma).
std::vector<double> unipc_sampling_sigmas(int steps, double shift, int num_train_timesteps);

// DPM++ (get_sampling_sigmas): linspace(1, 0, steps + 1) without its last
// element, then shifted. The first sigma is exactly 1.
std::vector<double> dpm_sampling_sigmas(int steps, double shift);

struct FlowSchedule {
  at::Tensor timesteps;  // int64 [steps]: trunc(sigma * num_train_timesteps) in float64
  at::Tensor sigmas;     // float32 [steps + 1]: the sigmas, then a final 0
};
FlowSchedule make_flow_schedule(const std::vector<double>& sigmas, int num_train_timesteps);

}  // namespace wan
