// kind "sched": a solver's timestep schedule, then its step loop fed with the
// stored model outputs.
#include "models/common/error.h"
#include "pipeline/flow_scheduler.h"
#include "pipeline/flow_step_distill.h"
#include "pipeline/names.h"
#include "tests/parity/parity_case.h"

namespace wan::parity {
namespace {

void run(const ParityCase& c, ParityReport& report) {
  const int steps = c.args().at("steps").get<int>();
  const double shift = c.args().at("shift").get<double>();
  if (c.args().at("num_train_timesteps").get<int>() != 1000)
    throw Error("sched: only num_train_timesteps = 1000 is supported (the released models')");
  auto scheduler = make_flow_scheduler(parse_solver(c.args().at("solver").get<std::string>()));
  scheduler->set_timesteps(steps, shift);
  report.compare("out.timesteps", scheduler->timesteps(), c.tensor("out.timesteps"));
  report.compare("out.sigmas", scheduler->sigmas(), c.tensor("out.sigmas"));

  const at::Tensor model_outputs = c.tensor("in.model_outputs");
  at::Tensor latent = c.tensor("in.sample");
  std::vector<at::Tensor> samples;
  for (int i = 0; i < scheduler->num_steps(); ++i) {
    latent = scheduler->step(model_outputs[i], scheduler->timesteps()[i].item<int64_t>(), latent);
    samples.push_back(latent);
  }
  report.compare("out.samples", at::stack(samples), c.tensor("out.samples"));
}

// kind "sched-distill": LightX2V's step-distill schedule from its list of denoising steps.
void run_distill(const ParityCase& c, ParityReport& report) {
  FlowStepDistill scheduler;
  scheduler.set_denoising_steps(c.args().at("denoising_step_list").get<std::vector<int>>(),
                                c.args().at("shift").get<double>());
  const int steps = scheduler.num_steps();
  report.compare("out.timesteps", scheduler.timesteps(), c.tensor("out.timesteps"));
  report.compare("out.sigmas", scheduler.sigmas().slice(0, 0, steps), c.tensor("out.sigmas"));
  const at::Tensor model_outputs = c.tensor("in.model_outputs");
  at::Tensor latent = c.tensor("in.sample");
  std::vector<at::Tensor> samples;
  for (int i = 0; i < steps; ++i) {
    latent = scheduler.step(model_outputs[i], scheduler.timesteps()[i].item<double>(), latent);
    samples.push_back(latent);
  }
  report.compare("out.samples", at::stack(samples), c.tensor("out.samples"));
}

ParityKind reg("sched", run);
ParityKind reg_distill("sched-distill", run_distill);

}  // namespace
}  // namespace wan::parity
