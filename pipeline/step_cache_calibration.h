// The published calibrations of the step caches for the Wan2.1 models: TeaCache's
// polynomial coefficients (ali-vilab/TeaCache, TeaCache4Wan2.1/teacache_generate.py) and
// MagCache's magnitude ratios (Zehong-Ma/MagCache, MagCache4Wan2.1/magcache_generate.py),
// values copied as published.
#pragma once
#include <array>
#include <vector>

namespace wan {

// Which calibration a model takes: the references choose by checkpoint name; we choose by
// the DiT's size and the output size (i2v above 832x480 pixels takes the 720P lists; flf2v,
// for which none is published, the i2v 720P ones: it is a 720P i2v-14B derivative).
enum class CacheModel { T2V_1_3B, T2V_14B, I2V_480P, I2V_720P };

struct TeaCacheCalibration {
  std::array<double, 5> coefficients;  // highest power first (numpy.poly1d)
  double default_threshold;            // the README's "slow" setting
};
// use_ret_steps: the e0 (time projection) variant; otherwise the e (time embedding) one.
TeaCacheCalibration teacache_calibration(CacheModel model, bool use_ret_steps);

// Interleaved cond / uncond ratios for the reference step count (50 steps for t2v, 40 for
// i2v), starting [1, 1].
const std::vector<double>& magcache_ratios(CacheModel model);

}  // namespace wan
