#include "pipeline/causal_noise.h"

#include <ATen/CPUGeneratorImpl.h>

#include <string>

#include "models/common/error.h"

namespace wan {

SeededCausalNoise::SeededCausalNoise(uint64_t seed, const at::Device& device)
    : seed_(seed), device_(device), generator_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

at::Tensor SeededCausalNoise::draw(int64_t, int64_t frames, int, at::IntArrayRef frame_shape) {
  if (frame_shape.size() != 3) throw Error("causal noise: a frame must be [C, H, W]");
  // Frames first, as the reference draws them ([frames, C, H, W]).
  const at::Tensor n = at::randn({frames, frame_shape[0], frame_shape[1], frame_shape[2]}, generator_, at::kFloat);
  return n.transpose(0, 1).contiguous().to(device_);
}

void SeededCausalNoise::reset() { generator_ = at::make_generator<at::CPUGeneratorImpl>(seed_); }

ReplayedCausalNoise::ReplayedCausalNoise(at::Tensor noise, at::Tensor renoise)
    : noise_(std::move(noise)), renoise_(std::move(renoise)) {
  if (noise_.dim() != 4 || renoise_.dim() != 5 || renoise_.sizes().slice(1) != noise_.sizes())
    throw Error("causal noise: expected noise [C, F, H, W] and renoise [steps - 1, C, F, H, W]");
}

at::Tensor ReplayedCausalNoise::draw(int64_t first_frame, int64_t frames, int step, at::IntArrayRef frame_shape) {
  const at::Tensor& from = step < 0 ? noise_ : renoise_[step];
  if (step >= renoise_.size(0) || first_frame + frames > from.size(1) ||
      from.sizes() != at::IntArrayRef({frame_shape[0], from.size(1), frame_shape[1], frame_shape[2]}))
    throw Error("causal noise: no stored draw for frames [" + std::to_string(first_frame) + ", " +
                std::to_string(first_frame + frames) + ") at step " + std::to_string(step));
  return from.slice(1, first_frame, first_frame + frames);
}

}  // namespace wan
