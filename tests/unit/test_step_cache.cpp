// EasyCache's decision rule (pipeline/easy_cache.h) on hand-computed sequences: which
// forwards run, what a reused one predicts, the warm-up and cutoff windows, the branches;
// the default thresholds of TeaCache and MagCache.
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "pipeline/step_cache.h"
#include "tests/unit/check.h"

namespace {

using wan::Branch;

wan::StepCacheSettings easycache(double threshold, int warmup_steps) {
  wan::StepCacheSettings s;
  s.method = wan::CacheMethod::EasyCache;
  s.threshold = threshold;
  s.warmup_steps = warmup_steps;
  return s;
}

at::Tensor filled(double v) { return at::full({2, 3}, v, at::kFloat); }

// One forward of `branch` on latent `x` whose computed prediction is `out`: returns the
// prediction used, and whether the cache reused it.
at::Tensor forward(wan::StepCache& cache, Branch branch, double x, double out, bool& reused) {
  at::Tensor p = cache.reuse_prediction(branch, filled(x));
  reused = p.defined();
  if (!reused) {
    p = filled(out);
    cache.predicted(p);
  }
  return p;
}

bool near(const at::Tensor& t, double v) { return at::allclose(t, filled(v), 1e-5, 1e-5); }

// 8 steps, warm-up 1 step, threshold 0.5; latents x = 10 - step, cond prediction x^2 / 4,
// uncond 3x. Step 0 runs (warm-up), step 1 runs (no k yet) and sets k = |20.25 - 25| / |9 - 10|
// = 4.75. Steps 2, 3: acc = 4.75 * 1 / 20.25 = 0.2346, 0.4691 < 0.5: reused. Step 4: 0.7037:
// runs, acc = 0, k = |9 - 20.25| / |6 - 9| = 3.75. Step 5: acc = 3.75 / 9 = 0.4167: reused.
// Step 6: 0.8333: runs. Step 7: the cutoff, runs. Each uncond forward follows its step's cond.
void decision_sequence() {
  wan::StepCache cache(easycache(0.5, 1), wan::CacheModel::T2V_1_3B, 8);
  EXPECT(cache.reuses_predictions() && cache.threshold() == 0.5);
  const std::vector<bool> reused_steps = {false, false, true, true, false, true, false, false};
  // Residuals (prediction - latent) of the last run step, per branch.
  double residual_c = 0, residual_u = 0;
  for (int step = 0; step < 8; ++step) {
    const double x = 10 - step;
    bool reused_c = false, reused_u = false;
    const at::Tensor c = forward(cache, Branch::Cond, x, x * x / 4, reused_c);
    const at::Tensor u = forward(cache, Branch::Uncond, x, 3 * x, reused_u);
    EXPECT_MSG(reused_c == reused_steps[step] && reused_u == reused_steps[step], "step " + std::to_string(step));
    if (reused_c) {
      EXPECT_MSG(near(c, x + residual_c) && near(u, x + residual_u), "reused prediction, step " + std::to_string(step));
    } else {
      residual_c = x * x / 4 - x, residual_u = 2 * x;
    }
  }
  std::vector<bool> expected;
  for (bool r : reused_steps) expected.push_back(!r), expected.push_back(!r);
  EXPECT(cache.computed() == expected && cache.reused_count() == 6);
  bool reused = false;
  EXPECT_ERROR(forward(cache, Branch::Cond, 1, 1, reused), "forward 16 of a 8-step generation");
  EXPECT_ERROR(cache.next_forward(Branch::Cond), "EasyCache reuses whole predictions");
}

// Guidance scale 1 (cond only) decides alike; with uncond only nothing is reused (the cond
// forward decides); the default warm-up (10 steps) covers an 8-step generation; the default
// threshold is the reference's 0.05.
void branches_and_defaults() {
  wan::StepCache cond_only(easycache(0.5, 1), wan::CacheModel::T2V_1_3B, 8);
  wan::StepCache uncond_only(easycache(0.5, 1), wan::CacheModel::T2V_1_3B, 8);
  wan::StepCacheSettings defaults;
  defaults.method = wan::CacheMethod::EasyCache;
  wan::StepCache warm(defaults, wan::CacheModel::I2V_720P, 8);
  EXPECT(warm.threshold() == 0.05);
  defaults.threshold = 1e9;
  wan::StepCache warm_huge(defaults, wan::CacheModel::I2V_720P, 8);
  for (int step = 0; step < 8; ++step) {
    const double x = 10 - step;
    bool reused = false;
    forward(cond_only, Branch::Cond, x, x * x / 4, reused);
    forward(uncond_only, Branch::Uncond, x, 3 * x, reused);
    forward(warm_huge, Branch::Cond, x, x * x / 4, reused);
    forward(warm_huge, Branch::Uncond, x, 3 * x, reused);
  }
  EXPECT((cond_only.computed() == std::vector<bool>{true, true, false, false, true, false, true, true}));
  EXPECT(uncond_only.computed() == std::vector<bool>(8, true));
  EXPECT(warm_huge.reused_count() == 0);
}

// Warm-up 0 and a huge threshold: step 0 runs (nothing cached), step 1 runs (no k yet), every
// later step up to the cutoff (the last step) is reused.
void no_warmup() {
  wan::StepCache cache(easycache(1e9, 0), wan::CacheModel::T2V_14B, 6);
  for (int step = 0; step < 6; ++step) {
    bool reused = false;
    forward(cache, Branch::Cond, 6 - step, step, reused);
    forward(cache, Branch::Uncond, 6 - step, -step, reused);
  }
  EXPECT((cache.computed() ==
          std::vector<bool>{true, true, true, true, false, false, false, false, false, false, true, true}));
}

// Threshold 0 takes each method's published default: TeaCache's per model and variant (its
// README's "slow" column), MagCache's 0.12 for every model; a threshold set is kept.
void published_default_thresholds() {
  using wan::CacheModel;
  struct Row {
    CacheModel model;
    double teacache, teacache_ret_steps;
  };
  const Row rows[] = {{CacheModel::T2V_1_3B, 0.05, 0.05},
                      {CacheModel::T2V_14B, 0.14, 0.10},
                      {CacheModel::I2V_480P, 0.13, 0.20},
                      {CacheModel::I2V_720P, 0.20, 0.20}};
  for (const Row& row : rows) {
    const std::string what = "model " + std::to_string(static_cast<int>(row.model));
    wan::StepCacheSettings s;
    s.method = wan::CacheMethod::TeaCache;
    s.teacache_ret_steps = false;
    EXPECT_MSG(wan::StepCache(s, row.model, 50).threshold() == row.teacache, what);
    s.teacache_ret_steps = true;
    EXPECT_MSG(wan::StepCache(s, row.model, 50).threshold() == row.teacache_ret_steps, what + ", ret_steps");
    s.threshold = 0.3;
    EXPECT_MSG(wan::StepCache(s, row.model, 50).threshold() == 0.3, what + ", set");
    s = {};
    s.method = wan::CacheMethod::MagCache;
    EXPECT_MSG(wan::StepCache(s, row.model, 50).threshold() == 0.12, what + ", MagCache");
    // A threshold is taken as given, 0 included (a reference case may set any value).
    s.threshold = 0;
    EXPECT_MSG(wan::StepCache(s, row.model, 50).threshold() == 0, what + ", MagCache 0");
    s.threshold = 0.3;
    EXPECT_MSG(wan::StepCache(s, row.model, 50).threshold() == 0.3, what + ", MagCache set");
  }
}

}  // namespace

int main() {
  decision_sequence();
  branches_and_defaults();
  no_warmup();
  published_default_thresholds();
  return wan::test::check_exit("test-step-cache");
}
