// A flow-matching sampler: the timestep schedule of a generation, and one
// update of the latent per timestep from the model's flow prediction.
#pragma once
#include <cstdint>
#include <memory>

#include <ATen/ATen.h>

#include "pipeline/request.h"

namespace wan {

class FlowScheduler {
 public:
  virtual ~FlowScheduler() = default;

  // Prepares `steps` timesteps with the time shift `shift` and forgets the
  // state of any previous run.
  virtual void set_timesteps(int steps, double shift) = 0;

  // What the DiT receives: int64 [steps] (float32 for the distilled schedules).
  const at::Tensor& timesteps() const { return timesteps_; }
  const at::Tensor& sigmas() const { return sigmas_; }  // float32 [steps + 1], last 0
  int num_steps() const { return timesteps_.defined() ? static_cast<int>(timesteps_.numel()) : 0; }

  // The latent after the current timestep: `model_output` is the (guided) flow
  // prediction at `sample`, `timestep` the schedule's current entry (checked).
  // Float32 in, float32 out; the shapes have no batch axis.
  at::Tensor step(const at::Tensor& model_output, double timestep, const at::Tensor& sample);

 protected:
  // The solver's update for step index `index` (0-based).
  virtual at::Tensor update(const at::Tensor& model_output, const at::Tensor& sample, int index) = 0;
  void set_schedule(at::Tensor timesteps, at::Tensor sigmas);
  // sigmas()[i] as a float32 0-d tensor: the solvers do their scalar math on
  // those, as the reference does, so every rounding matches.
  at::Tensor sigma(int i) const { return sigmas_[i]; }

  static constexpr int kNumTrainTimesteps = 1000;

 private:
  at::Tensor timesteps_;
  at::Tensor sigmas_;
  int step_index_ = 0;
};

std::unique_ptr<FlowScheduler> make_flow_scheduler(Solver solver);

}  // namespace wan
