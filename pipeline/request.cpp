#include "pipeline/request.h"

#include <cmath>

#include "models/common/error.h"
#include "models/t5/text_cleaning.h"
#include "pipeline/flow_step_distill.h"

namespace wan {
namespace {

// The reference's timestep grid has 1000 entries; more steps than that would
// repeat timesteps.
constexpr int kMaxSteps = 1000;
// Far beyond what the models make (81 frames, 1280x720), small enough that no size,
// token count or buffer computed from them overflows.
constexpr int kMaxFrames = 4097;
constexpr int kMaxSide = 16384;
constexpr int64_t kMaxArea = int64_t{kMaxSide} * kMaxSide;

[[noreturn]] void bad(const std::string& field, const std::string& message) {
  throw Error("invalid request: " + field + ": " + message);
}

void validate_image(const RgbImage& image, const std::string& field) {
  if (image.width <= 0 || image.height <= 0)
    bad(field, "the image is empty (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
  const size_t expected = static_cast<size_t>(image.width) * image.height * 3;
  if (image.pixels.size() != expected)
    bad(field, "expected " + std::to_string(expected) + " bytes of packed RGB for " + std::to_string(image.width) +
                   "x" + std::to_string(image.height) + ", got " + std::to_string(image.pixels.size()));
}

}  // namespace

Task Request::task() const {
  if (last_image) return Task::FirstLastFrameToVideo;
  if (image) return Task::ImageToVideo;
  return Task::TextToVideo;
}

void Request::validate() const {
  // Here as well as in clean_prompt: before any model loads.
  try {
    check_prompt_length(prompt, "prompt");
    check_prompt_length(negative_prompt, "negative_prompt");
  } catch (const Error& e) {
    throw Error(std::string("invalid request: ") + e.what());
  }
  if (last_image && !image) bad("image", "a last frame was given without a first frame");
  if (image) validate_image(*image, "image");
  if (last_image) validate_image(*last_image, "last_image");

  if (num_frames < 1 || (num_frames - 1) % 4 != 0 || num_frames > kMaxFrames)
    bad("num_frames",
        "must be 4n+1 (1, 5, 9, ..., 81) up to " + std::to_string(kMaxFrames) + ", got " + std::to_string(num_frames));
  if (task() == Task::FirstLastFrameToVideo && num_frames < 2)
    bad("num_frames", "first-last-frame generation needs at least 5 frames, got " + std::to_string(num_frames));

  if ((width != 0) != (height != 0))
    bad(width == 0 ? "width" : "height", "give both width and height, or neither (then max_area decides)");
  if (width != 0) {
    if (width < 16 || width % 16 != 0 || width > kMaxSide)
      bad("width",
          "must be a positive multiple of 16 up to " + std::to_string(kMaxSide) + ", got " + std::to_string(width));
    if (height < 16 || height % 16 != 0 || height > kMaxSide)
      bad("height",
          "must be a positive multiple of 16 up to " + std::to_string(kMaxSide) + ", got " + std::to_string(height));
  } else if (max_area < 16 * 16 || max_area > kMaxArea) {
    bad("max_area", "must be 256 (16x16) to " + std::to_string(kMaxArea) + " pixels (" + std::to_string(kMaxSide) +
                        "x" + std::to_string(kMaxSide) + "), got " + std::to_string(max_area));
  }

  if (steps && (*steps < 1 || *steps > kMaxSteps))
    bad("steps", "must be between 1 and " + std::to_string(kMaxSteps) + ", got " + std::to_string(*steps));
  if (shift && (!std::isfinite(*shift) || *shift <= 0))
    bad("shift", "must be a positive number, got " + std::to_string(*shift));
  if (guidance_scale && (!std::isfinite(*guidance_scale) || *guidance_scale < 0))
    bad("guidance_scale", "must be a number >= 0, got " + std::to_string(*guidance_scale));

  if (!timesteps.empty()) {
    if (solver != Solver::Distill && solver != Solver::Renoise)
      bad("timesteps", "a list of denoising steps is for the distill and renoise solvers only");
    try {
      check_distill_steps(timesteps);
    } catch (const Error& e) {
      bad("timesteps", e.what() + std::string("timesteps: ").size());
    }
    if (steps && static_cast<size_t>(*steps) != timesteps.size())
      bad("steps", std::to_string(*steps) + " steps disagree with the " + std::to_string(timesteps.size()) +
                       " denoising steps of the timestep list");
  }
  if (cache.method != CacheMethod::None) {
    if (cache.threshold && !(std::isfinite(*cache.threshold) && *cache.threshold > 0))
      bad("cache_threshold",
          "must be a number > 0 (or left unset for the method's default), got " + std::to_string(*cache.threshold));
    if (cache.max_skips && *cache.max_skips < 1)
      bad("cache_max_skips", "must be at least 1, got " + std::to_string(*cache.max_skips));
    if (cache.retention_ratio && !(*cache.retention_ratio >= 0 && *cache.retention_ratio <= 1))
      bad("cache_retention_ratio", "must be within 0..1, got " + std::to_string(*cache.retention_ratio));
    if (cache.warmup_steps && (*cache.warmup_steps < 0 || *cache.warmup_steps > kMaxSteps))
      bad("cache_warmup_steps",
          "must be between 0 and " + std::to_string(kMaxSteps) + ", got " + std::to_string(*cache.warmup_steps));
  }
  for (const auto& lora : loras.value_or(std::vector<LoraSpec>{})) {
    if (lora.path.empty()) bad("loras", "a LoRA without a file name");
    if (!std::isfinite(lora.strength)) bad("loras", "the strength of " + lora.path + " is not a finite number");
  }
}

}  // namespace wan
