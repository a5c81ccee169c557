// Few-step samplers for step-distilled Wan models (lightx2v's StepDistill / CfgDistill
// checkpoints and LoRAs, CausVid / Self-Forcing style LoRAs): one flow prediction per
// step on a short list of denoising steps, usually without guidance.
//
// The schedule is LightX2V's WanStepDistillScheduler: a 1000-entry table
// s = linspace(1, 0, 1001)[:-1], warped by the shift, indexed by 1000 - step for each
// step of the list (integers 1..1000, strictly decreasing). The DiT receives the float
// timesteps s * 1000 (937.5, 833.33, ...), not integers. Without an explicit list, N steps
// take round(1000 * (N - k) / N) for k = 0..N-1 ([1000, 750, 500, 250] for 4).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/flow_scheduler.h"

namespace wan {

// The default list of denoising steps for `steps` steps (see above).
std::vector<int> default_distill_steps(int steps);
// Throws wan::Error unless `list` is non-empty, strictly decreasing, within 1..1000.
void check_distill_steps(const std::vector<int>& list);
// "1000,750,500,250" (checked as above); "" = an empty list (the default for the steps).
std::vector<int> parse_distill_steps(const std::string& text);

// LightX2V's update: x0 = x - sigma_i v; the next sample x0 + sigma_{i+1} v (the flow
// ODE's Euler step, in the reference's two roundings); the last step returns x0.
class FlowStepDistill : public FlowScheduler {
 public:
  void set_timesteps(int steps, double shift) override;
  void set_denoising_steps(const std::vector<int>& list, double shift);
  // Self-Forcing without warp_denoising_step: the DiT receives the steps themselves as
  // timesteps, and each step's sigma is the table's at its nearest timestep (the first of
  // equally near ones, as argmin picks).
  void set_unwarped_denoising_steps(const std::vector<int>& list, double shift);

 protected:
  at::Tensor update(const at::Tensor& model_output, const at::Tensor& sample, int index) override;
  // The shifted table: 1000 sigmas s and their timesteps t = 1000 s (float32).
  static std::pair<at::Tensor, at::Tensor> shifted_table(double shift);
};

// The re-noising sampler of CausVid and Self-Forcing: x0 = x - sigma_i v, then fresh
// noise at the next sigma: (1 - sigma_{i+1}) x0 + sigma_{i+1} eps. eps for step i is drawn
// from the seed given by set_noise_seed (seed + 1 + i, on the CPU generator), so a clip is
// reproducible from its seed.
class FlowRenoise : public FlowStepDistill {
 public:
  void set_noise_seed(uint64_t seed) { seed_ = seed; }

 protected:
  at::Tensor update(const at::Tensor& model_output, const at::Tensor& sample, int index) override;

 private:
  uint64_t seed_ = 0;
};

}  // namespace wan
