// Step caching for the many-step modes: between neighbouring steps the transformer's blocks
// change their input little, so a forward may add the residual (blocks' output - input) of
// the last computed forward of the same branch instead of running the blocks (TeaCache,
// MagCache; exact decision rules in tests/fixtures/README.md, "Step caching"). EasyCache
// (pipeline/easy_cache.h) reuses whole predictions instead: the Denoiser asks before each
// forward (reuse_prediction), not the blocks.
//
// Forwards are numbered n = 2 * step + (0 for the prompt's, 1 for the negative prompt's),
// as the references number them with guidance on; each branch keeps its own state and
// residual. A StepCache serves one generation.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/ATen.h>

#include "models/dit/wan_model.h"
#include "pipeline/denoiser.h"
#include "pipeline/easy_cache.h"
#include "pipeline/request.h"
#include "pipeline/step_cache_calibration.h"

namespace wan {

// The calibration a model and output size take (see CacheModel).
CacheModel cache_model_for(const DiTConfig& dit, int width, int height);

class StepCache {
 public:
  StepCache(const StepCacheSettings& settings, CacheModel model, int steps);

  // The hook for the next forward of `branch` (its step is counted per branch).
  BlockReuse& next_forward(Branch branch);

  // EasyCache: before the next forward of `branch`, the prediction to use instead of running
  // the DiT, or an undefined tensor to run it and pass its prediction to predicted().
  bool reuses_predictions() const { return easy_.has_value(); }
  at::Tensor reuse_prediction(Branch branch, const at::Tensor& latent);
  void predicted(const at::Tensor& prediction);

  // One entry per forward so far, in call order: whether its blocks ran.
  const std::vector<bool>& computed() const { return computed_; }
  int64_t reused_count() const;
  double threshold() const { return threshold_; }

 private:
  struct BranchState : BlockReuse {
    StepCache* cache = nullptr;
    int parity = 0;
    int calls = 0;  // forwards of this branch so far
    int n = 0;      // the current forward's number
    at::Tensor residual, previous;
    double accumulated = 0;       // TeaCache: the rescaled relative L1 distances
    double ratio = 1, error = 0;  // MagCache
    int skipped = 0;              // MagCache: steps since the last computed forward
    at::Tensor reuse(const at::Tensor& e, const at::Tensor& e0) override;
    void computed(const at::Tensor& residual) override;
  };
  bool teacache_skips(BranchState& b, const at::Tensor& e, const at::Tensor& e0);
  bool magcache_skips(BranchState& b);

  StepCacheSettings settings_;
  double threshold_;
  int num_forwards_;              // 2 * steps, as the references count
  int max_skips_ = 2;             // MagCache
  double retention_ratio_ = 0.2;  // MagCache
  std::optional<EasyCache> easy_;
  TeaCacheCalibration tea_{};
  std::vector<double> mag_ratios_;  // 2 * steps entries, resampled to the step count
  BranchState branches_[2];
  std::vector<bool> computed_;
};

// MagCache's nearest_interp: `target` entries of `source`, source[round(i * (len - 1) /
// (target - 1))] with numpy's round (half to even).
std::vector<double> nearest_interp(const std::vector<double>& source, int target);

}  // namespace wan
