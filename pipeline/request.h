// What to generate: one request type for the three tasks (t2v, i2v, flf2v).
// Defaults are the official CLI's (generate.py / wan/configs); the sampling settings
// left unset take the task's default for the output size (pipeline/model_family.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/weights/lora_spec.h"

namespace wan {

enum class Task { TextToVideo, ImageToVideo, FirstLastFrameToVideo };
// UniPC, DPM++ and Euler sample the released models; Distill and Renoise are the few-step
// samplers of step-distilled models (pipeline/flow_step_distill.h).
enum class Solver { UniPC, DPMpp, Euler, Distill, Renoise };

// A decoded 8-bit RGB image, rows packed (stride = 3 * width).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
};

// Step caching (pipeline/step_cache.h) for the many-step solvers; EasyCache needs no
// calibration (pipeline/easy_cache.h), so it also serves LoRAs and distilled models.
enum class CacheMethod { None, TeaCache, MagCache, EasyCache };
// The window parameters left unset take the method's default; those of another method are
// not used (but still checked).
struct StepCacheSettings {
  CacheMethod method = CacheMethod::None;
  std::optional<double> threshold;        // unset = the method's default for the model; any value as given
  bool teacache_ret_steps = true;         // TeaCache: decide on the time projection e0 (else on e)
  std::optional<int> max_skips;           // MagCache: K, skipped steps in a row at most (2)
  std::optional<double> retention_ratio;  // MagCache: the share of forwards that always run first (0.2)
  std::optional<int> warmup_steps;        // EasyCache: the steps that always run first (10)
};

struct Request {
  std::optional<RgbImage> image;       // i2v and flf2v: the first frame
  std::optional<RgbImage> last_image;  // flf2v: the last frame
  std::string prompt;
  // Empty = the official default negative prompt of the task (exactly as the
  // reference: only "" selects it; whitespace is used as given).
  std::string negative_prompt;
  int64_t max_area = 832 * 480;          // target pixel count; size follows the image's aspect
  int width = 0, height = 0;             // explicit size (multiples of 16) overrides max_area when both set
  int num_frames = 81;                   // 4n+1
  std::optional<int> steps;              // unset: the task's default
  std::optional<double> shift;           // unset: the task's default for the size
  std::optional<double> guidance_scale;  // unset: the task's default
  Solver solver = Solver::UniPC;
  // Distill / Renoise: the denoising steps (1..1000, decreasing); empty = the default list
  // for `steps` (pipeline/flow_step_distill.h).
  std::vector<int> timesteps;
  int64_t seed = -1;  // negative = random; the seed used is reported
  // LoRAs on the DiT, applied in order; unset = the pipeline's current ones. When they
  // differ, the pipeline takes the model they need (pipeline/pipeline.h).
  std::optional<std::vector<LoraSpec>> loras;
  StepCacheSettings cache;

  Task task() const;
  // Throws wan::Error naming the field: frames not 4n+1, size not a multiple
  // of 16, zero steps, negative guidance, missing image for i2v, a timestep list that is
  // not decreasing or disagrees with steps, ...
  void validate() const;
};

}  // namespace wan
