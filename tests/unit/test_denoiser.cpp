// The Denoiser seam: guidance asks the denoiser for the branches it needs (cond only at
// scale 1, uncond only at 0, both otherwise) and combines them as the reference does; the
// loop runs any Denoiser; the Wan DiT gives the same predictions batched and one by one.
//   test-denoiser FIXTURES_DIR
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <filesystem>

#include "models/dit/dit_config.h"
#include "models/dit/wan_model.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "pipeline/denoise_loop.h"
#include "pipeline/flow_scheduler.h"
#include "pipeline/names.h"
#include "pipeline/step_cache.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

// Predicts latent * 2 under the prompt and latent * 3 under the negative prompt.
struct ScalingDenoiser : wan::Denoiser {
  std::vector<std::vector<wan::Branch>> calls;
  std::vector<at::Tensor> predict(const at::Tensor& latent, const at::Tensor&, const std::vector<wan::Branch>& branches,
                                  const wan::DiTConditioning&) override {
    calls.push_back(branches);
    std::vector<at::Tensor> out;
    for (wan::Branch b : branches) out.push_back(latent * (b == wan::Branch::Cond ? 2.0 : 3.0));
    return out;
  }
};

void guidance_asks_for_what_it_needs() {
  const at::Tensor latent = at::randn({16, 1, 2, 2});
  const at::Tensor t = at::full({1}, 999, at::kLong);
  ScalingDenoiser d;
  const wan::DiTConditioning c;
  const wan::GuidedPrediction p = wan::guided_prediction(d, latent, t, c, 5.0);
  EXPECT(d.calls.size() == 1 && d.calls[0].size() == 2);
  EXPECT(at::allclose(p.guided, latent * (3.0 + 5.0 * (2.0 - 3.0))));
  d.calls.clear();
  const wan::GuidedPrediction cond_only = wan::guided_prediction(d, latent, t, c, 1.0);
  EXPECT(d.calls.size() == 1 && d.calls[0] == std::vector<wan::Branch>{wan::Branch::Cond});
  EXPECT(!cond_only.uncond.defined() && at::allclose(cond_only.guided, latent * 2.0));
  d.calls.clear();
  const wan::GuidedPrediction uncond_only = wan::guided_prediction(d, latent, t, c, 0.0);
  EXPECT(d.calls.size() == 1 && d.calls[0] == std::vector<wan::Branch>{wan::Branch::Uncond});
  EXPECT(!uncond_only.cond.defined() && at::allclose(uncond_only.guided, latent * 3.0));
  // Asked for both branches (as the reference runs them), scale 1 runs both and combines them.
  d.calls.clear();
  const wan::GuidedPrediction both = wan::guided_prediction(d, latent, t, c, 1.0, /*both_branches=*/true);
  EXPECT(d.calls.size() == 1 && d.calls[0].size() == 2);
  EXPECT(both.cond.defined() && both.uncond.defined() && at::allclose(both.guided, latent * 2.0));
}

void the_loop_runs_any_denoiser() {
  ScalingDenoiser d;
  auto scheduler = wan::make_flow_scheduler(wan::Solver::Euler);
  scheduler->set_timesteps(4, 5.0);
  wan::DenoiseOptions options;
  options.guidance_scale = 1.0;
  int steps = 0;
  options.on_step = [&](const wan::DenoiseStep& s) { EXPECT(s.index == steps++ && s.prediction->cond.defined()); };
  const at::Tensor out = wan::denoise(d, *scheduler, at::ones({16, 1, 2, 2}), wan::DiTConditioning{}, options);
  EXPECT(steps == 4 && d.calls.size() == 4 && out.sizes() == at::IntArrayRef({16, 1, 2, 2}));
}

// A model that predicts NaN from its third step on stops the loop there, with the step named.
void non_finite_latents_stop_the_loop() {
  struct NanAfterTwo : wan::Denoiser {
    int calls = 0;
    std::vector<at::Tensor> predict(const at::Tensor& latent, const at::Tensor&, const std::vector<wan::Branch>& b,
                                    const wan::DiTConditioning&) override {
      return std::vector<at::Tensor>(b.size(), ++calls >= 3 ? at::full_like(latent, NAN) : latent);
    }
  } nan_model;
  auto scheduler = wan::make_flow_scheduler(wan::Solver::Euler);
  scheduler->set_timesteps(4, 5.0);
  wan::DenoiseOptions options;
  options.guidance_scale = 1.0;
  EXPECT_ERROR(wan::denoise(nan_model, *scheduler, at::ones({16, 1, 2, 2}), wan::DiTConditioning{}, options),
               "denoising step 3 of 4 gave non-finite values");
}

// The dit-i2v-tiny case's model and conditioning (a random negative context beside its own).
struct TinyI2VCase {
  wan::WanModel model{nullptr};
  wan::TensorMap io;
  wan::DiTConditioning c;
};

TinyI2VCase tiny_i2v_case(const fs::path& fixtures) {
  const fs::path dir = fixtures / "dit-i2v-tiny";
  TinyI2VCase t;
  t.model = wan::WanModel(wan::DiTConfig::from_json_file((dir / "config.json").string()));
  wan::load_state_dict(*t.model, wan::load_safetensors((dir / "weights.safetensors").string()), "dit-i2v-tiny");
  t.io = wan::load_safetensors((dir / "io.safetensors").string());
  t.c.context = t.io.at("in.context.0").to(at::kFloat);
  t.c.context_null = at::randn({7, t.c.context.size(1)});
  t.c.clip_fea = t.io.at("in.clip_fea").to(at::kFloat);
  t.c.y = t.io.at("in.y.0").to(at::kFloat);
  t.c.seq_len = 45;
  return t;
}

void wan_denoiser_batched_equals_one_by_one(const fs::path& fixtures) {
  TinyI2VCase tiny = tiny_i2v_case(fixtures);
  wan::WanModel& model = tiny.model;
  const wan::TensorMap& io = tiny.io;
  const wan::DiTConditioning& c = tiny.c;
  const at::Tensor latent = io.at("in.x.0").to(at::kFloat), t = at::full({1}, 500, at::kLong);
  c10::AutoGradMode no_grad(false);
  int blocks = 0;
  wan::WanDenoiser batched(*model, true, [&] { ++blocks; }), single(*model, false);
  const auto both = batched.predict(latent, t, {wan::Branch::Cond, wan::Branch::Uncond}, c);
  EXPECT_MSG(blocks == 2, std::to_string(blocks) + " between-blocks calls for one batched forward of 2 blocks");
  const auto cond = single.predict(latent, t, {wan::Branch::Cond}, c);
  const auto uncond = single.predict(latent, t, {wan::Branch::Uncond}, c);
  EXPECT(both.size() == 2 && at::allclose(both[0], cond[0], 1e-5, 1e-6) &&
         at::allclose(both[1], uncond[0], 1e-5, 1e-6));
  EXPECT(!at::allclose(cond[0], uncond[0]));
  // The prompt's prediction is the reference's.
  const at::Tensor expected = io.at("out.pred.0").to(at::kFloat);
  const at::Tensor got = single.predict(latent, io.at("in.t").to(at::kFloat), {wan::Branch::Cond}, c)[0];
  EXPECT(at::allclose(got, expected, 1e-4, 1e-5));
}

// EasyCache through the Wan DiT: a reused forward predicts its latent plus the (prediction -
// latent) of its branch's last run forward, and runs no block; a run forward is the plain one.
void wan_denoiser_easycache_reuses_predictions(const fs::path& fixtures) {
  TinyI2VCase tiny = tiny_i2v_case(fixtures);
  wan::WanModel& model = tiny.model;
  const wan::TensorMap& io = tiny.io;
  const wan::DiTConditioning& c = tiny.c;
  const at::Tensor latent = io.at("in.x.0").to(at::kFloat);
  c10::AutoGradMode no_grad(false);
  // Warm-up 0, a threshold nothing reaches: steps 0 and 1 run, 2 and 3 are reused, 4 (the
  // last) runs.
  wan::StepCacheSettings settings;
  settings.method = wan::CacheMethod::EasyCache;
  settings.threshold = 1e9;
  settings.warmup_steps = 0;
  wan::StepCache cache(settings, wan::CacheModel::I2V_480P, 5);
  int blocks = 0;
  wan::WanDenoiser cached(
      *model, true, [&] { ++blocks; }, &cache),
      plain(*model, false);
  at::Tensor residual[2];
  for (int step = 0; step < 5; ++step) {
    const at::Tensor x = latent * (1.0 - 0.1 * step), t = at::full({1}, 900 - 100 * step, at::kLong);
    const int before = blocks;
    const auto got = cached.predict(x, t, {wan::Branch::Cond, wan::Branch::Uncond}, c);
    const bool reused = step == 2 || step == 3;
    EXPECT_MSG(blocks - before == (reused ? 0 : 4),
               "step " + std::to_string(step) + ": " + std::to_string(blocks - before) + " blocks ran");
    for (int b = 0; b < 2; ++b) {
      const wan::Branch branch = b == 0 ? wan::Branch::Cond : wan::Branch::Uncond;
      if (reused) {
        EXPECT_MSG(at::equal(got[b], x + residual[b]), "reused prediction, step " + std::to_string(step));
      } else {
        EXPECT(at::allclose(got[b], plain.predict(x, t, {branch}, c)[0], 1e-5, 1e-6));
        residual[b] = got[b] - x;
      }
    }
  }
  EXPECT(cache.reused_count() == 4 && cache.computed().size() == 10);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-denoiser FIXTURES_DIR\n");
    return 2;
  }
  guidance_asks_for_what_it_needs();
  the_loop_runs_any_denoiser();
  non_finite_latents_stop_the_loop();
  wan_denoiser_batched_equals_one_by_one(argv[1]);
  wan_denoiser_easycache_reuses_predictions(argv[1]);
  return wan::test::check_exit("test-denoiser");
}
