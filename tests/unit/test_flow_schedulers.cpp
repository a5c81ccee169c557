// The three solvers on a flow they must integrate exactly: a straight line
// from data x0 to noise, x(sigma) = (1 - sigma) x0 + sigma noise, whose
// velocity noise - x0 is constant. Whatever the step count, every solver
// has to land on x0. Also: schedule shape, and misuse is refused.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/flow_scheduler.h"
#include "pipeline/flow_step_distill.h"
#include "pipeline/names.h"
#include "tests/unit/check.h"

namespace {

void test_straight_flow_lands_on_data(wan::Solver solver, int steps, double shift) {
  auto s = wan::make_flow_scheduler(solver);
  s->set_timesteps(steps, shift);
  const std::string what = std::string(wan::solver_name(solver)) + ", " + std::to_string(steps) + " steps";
  EXPECT_MSG(s->num_steps() == steps && s->sigmas().numel() == steps + 1, what);
  EXPECT_MSG(s->sigmas()[steps].item<float>() == 0.0f, what);
  const at::Tensor t = s->timesteps();
  EXPECT_MSG(t.scalar_type() == at::kLong, what);
  for (int i = 1; i < steps; ++i) EXPECT_MSG(t[i].item<int64_t>() < t[i - 1].item<int64_t>(), what);

  at::manual_seed(1);
  const at::Tensor x0 = at::randn({4, 3, 5}), noise = at::randn({4, 3, 5});
  const at::Tensor velocity = noise - x0;
  const double sigma0 = s->sigmas()[0].item<double>();
  at::Tensor x = (1 - sigma0) * x0 + sigma0 * noise;
  for (int i = 0; i < steps; ++i) x = s->step(velocity, t[i].item<int64_t>(), x);
  const double err = (x - x0).abs().max().item<double>();
  EXPECT_MSG(err < 1e-4, what + ": max |x - x0| = " + std::to_string(err));
}

void test_misuse_is_refused() {
  auto s = wan::make_flow_scheduler(wan::Solver::UniPC);
  const at::Tensor x = at::zeros({2, 2});
  EXPECT_ERROR(s->step(x, 999, x), "set_timesteps");
  s->set_timesteps(4, 5.0);
  EXPECT_ERROR(s->step(x, 123, x), "timestep 123");
  EXPECT_ERROR(s->step(at::zeros({3}), s->timesteps()[0].item<int64_t>(), x), "shape");
  EXPECT_ERROR(wan::parse_solver("ddim"), "unipc");
  EXPECT(wan::parse_solver("dpm++") == wan::Solver::DPMpp);
}

// The re-noising sampler draws its fresh noise from the clip's seed alone: the same seed gives
// the same latents whatever the global generator holds; another seed gives other latents.
at::Tensor renoise_run(uint64_t seed, uint64_t global_seed) {
  wan::FlowRenoise s;
  s.set_noise_seed(seed);
  s.set_timesteps(4, 5.0);
  at::manual_seed(3);
  const at::Tensor velocity = at::randn({4, 3, 5}), start = at::randn({4, 3, 5});
  at::manual_seed(global_seed);
  at::Tensor x = start;
  std::vector<at::Tensor> latents;
  for (int i = 0; i < s.num_steps(); ++i) {
    x = s.step(velocity, s.timesteps()[i].item<double>(), x);
    latents.push_back(x);
  }
  return at::stack(latents);
}

void test_renoise_follows_its_seed() {
  const at::Tensor a = renoise_run(42, 1), again = renoise_run(42, 2), other = renoise_run(43, 1);
  EXPECT(at::equal(a, again));
  for (int i = 0; i < a.size(0); ++i)  // every step's fresh noise depends on the seed
    EXPECT_MSG((a[i] - other[i]).abs().max().item<double>() > 1e-2, "step " + std::to_string(i));
}

// Self-Forcing without warp_denoising_step: the DiT gets the steps themselves, and each sigma
// is the shifted table's at the timestep nearest the step (the first of equally near ones).
void test_unwarped_steps() {
  const std::vector<int> list{1000, 750, 500, 250};
  wan::FlowStepDistill unwarped;
  // Shift 1: the table's timesteps are 1000 - k, so step T takes sigma s[1000 - T] = T / 1000.
  unwarped.set_unwarped_denoising_steps(list, 1.0);
  EXPECT(at::equal(unwarped.timesteps(), at::tensor({1000.f, 750.f, 500.f, 250.f})));
  const at::Tensor linear = at::linspace(1.0, 0.0, 1001, at::kFloat);
  EXPECT(at::equal(unwarped.sigmas(), at::cat({linear.index_select(0, at::tensor({0, 250, 500, 750}, at::kLong)),
                                               at::zeros({1}, at::kFloat)})));
  // Shift 5, against a search over the whole table (the warped schedule of every step 1000..1).
  unwarped.set_unwarped_denoising_steps(list, 5.0);
  std::vector<int> every;
  for (int step = 1000; step >= 1; --step) every.push_back(step);
  wan::FlowStepDistill table;
  table.set_denoising_steps(every, 5.0);
  const at::Tensor t = table.timesteps(), s = table.sigmas();
  for (size_t i = 0; i < list.size(); ++i) {
    int64_t best = 0;
    for (int64_t k = 1; k < t.size(0); ++k)
      if (std::abs(t[k].item<float>() - list[i]) < std::abs(t[best].item<float>() - list[i])) best = k;
    EXPECT_MSG(unwarped.sigmas()[i].item<float>() == s[best].item<float>(), "step " + std::to_string(list[i]));
  }
  wan::FlowStepDistill warped;
  warped.set_denoising_steps(list, 5.0);
  EXPECT(!at::equal(warped.sigmas(), unwarped.sigmas()));  // the two readings differ
}

}  // namespace

int main() {
  for (wan::Solver solver : {wan::Solver::UniPC, wan::Solver::DPMpp, wan::Solver::Euler})
    for (int steps : {1, 2, 3, 8, 20, 50}) test_straight_flow_lands_on_data(solver, steps, 5.0);
  test_straight_flow_lands_on_data(wan::Solver::UniPC, 10, 1.0);
  test_straight_flow_lands_on_data(wan::Solver::DPMpp, 10, 16.0);
  test_misuse_is_refused();
  test_renoise_follows_its_seed();
  test_unwarped_steps();
  return wan::test::check_exit("test-flow-schedulers");
}
