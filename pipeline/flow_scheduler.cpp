#include "pipeline/flow_scheduler.h"

#include <string>

#include "models/common/error.h"
#include "pipeline/flow_dpm_solver_multistep.h"
#include "pipeline/flow_euler.h"
#include "pipeline/flow_step_distill.h"
#include "pipeline/flow_unipc_multistep.h"

namespace wan {

void FlowScheduler::set_schedule(at::Tensor timesteps, at::Tensor sigmas) {
  timesteps_ = std::move(timesteps);
  sigmas_ = std::move(sigmas);
  step_index_ = 0;
}

at::Tensor FlowScheduler::step(const at::Tensor& model_output, double timestep, const at::Tensor& sample) {
  if (step_index_ >= num_steps())
    throw Error("scheduler: step " + std::to_string(step_index_ + 1) + " requested, but the schedule has " +
                std::to_string(num_steps()) + " steps (call set_timesteps first)");
  const double expected = timesteps_[step_index_].item<double>();
  if (timestep != expected)
    throw Error("scheduler: timestep " + std::to_string(timestep) + " given at step " +
                std::to_string(step_index_ + 1) + ", the schedule has " + std::to_string(expected));
  if (model_output.sizes() != sample.sizes()) throw Error("scheduler: model output and sample differ in shape");
  at::Tensor out = update(model_output.to(at::kFloat), sample.to(at::kFloat), step_index_);
  ++step_index_;
  return out;
}

std::unique_ptr<FlowScheduler> make_flow_scheduler(Solver solver) {
  switch (solver) {
    case Solver::UniPC: return std::make_unique<FlowUniPCMultistep>();
    case Solver::DPMpp: return std::make_unique<FlowDPMSolverMultistep>();
    case Solver::Euler: return std::make_unique<FlowEuler>();
    case Solver::Distill: return std::make_unique<FlowStepDistill>();
    case Solver::Renoise: return std::make_unique<FlowRenoise>();
  }
  throw Error("unknown solver");
}

}  // namespace wan
