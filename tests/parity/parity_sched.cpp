// kind "sched": a solver's timestep schedule, then its step loop fed with the
// stored model outputs.
#include "models/common/error.h"
#include "pipeline/flow_scheduler.h"
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

ParityKind reg("sched", run);

}  // namespace
}  // namespace wan::parity
