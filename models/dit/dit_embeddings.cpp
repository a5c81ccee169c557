#include "models/dit/dit_embeddings.h"

#include "models/common/error.h"

namespace wan::dit {
namespace {

constexpr double kRopeTheta = 10000.0;

// Angles pos * theta^(-2j / channels) of one axis for pos = first .. first + positions - 1,
// float64 [positions, channels / 2].
at::Tensor axis_angles(int64_t positions, int64_t channels, int64_t first = 0) {
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor inv_freq = 1.0 / at::pow(kRopeTheta, at::arange(0, channels, 2, f64).div(channels));
  return at::outer(at::arange(first, first + positions, f64), inv_freq);
}

}  // namespace

at::Tensor sinusoidal_time_embedding(int64_t freq_dim, const at::Tensor& t) {
  const at::Tensor position = t.to(at::kDouble).reshape({-1});
  const int64_t half = freq_dim / 2;
  const at::Tensor freqs = at::pow(10000.0, -at::arange(half, position.options()).div(half));
  const at::Tensor angles = at::outer(position, freqs);
  return at::cat({at::cos(angles), at::sin(angles)}, 1);
}

const RopeRotation& RopeCache::rotation(const PatchGrid& grid, const at::Device& device, int64_t frame_offset) {
  const auto key = std::make_pair(grid, device.str());
  if (frame_offset != 0) {
    // A causal generation moves on chunk by chunk: only the latest offset is kept.
    if (!last_offset_ || last_offset_->offset != frame_offset || last_offset_->key != key)
      last_offset_ = OffsetRotation{key, frame_offset, build(grid, device, frame_offset)};
    return last_offset_->rotation;
  }
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  return cache_.emplace(key, build(grid, device, 0)).first->second;
}

RopeRotation RopeCache::build(const PatchGrid& grid, const at::Device& device, int64_t frame_offset) const {
  for (int64_t n : {grid.f, grid.h, grid.w})
    if (n > max_positions_)
      throw Error("DiT: a patch grid of " + std::to_string(grid.f) + "x" + std::to_string(grid.h) + "x" +
                  std::to_string(grid.w) + " exceeds the " + std::to_string(max_positions_) +
                  " rotary positions per axis of the model (rope_max_seq_len)");
  if (frame_offset < 0) throw Error("DiT: negative frame offset " + std::to_string(frame_offset));
  const int64_t d = head_dim_;
  const int64_t spatial = 2 * (d / 6);  // real channels of the height axis, and of the width axis
  const at::Tensor frame = axis_angles(grid.f, d - 2 * spatial, frame_offset);
  const at::Tensor height = axis_angles(grid.h, spatial);
  const at::Tensor width = axis_angles(grid.w, spatial);
  const int64_t cf = frame.size(1), ch = height.size(1), cw = width.size(1);
  const at::Tensor angles = at::cat({frame.view({grid.f, 1, 1, cf}).expand({grid.f, grid.h, grid.w, cf}),
                                     height.view({1, grid.h, 1, ch}).expand({grid.f, grid.h, grid.w, ch}),
                                     width.view({1, 1, grid.w, cw}).expand({grid.f, grid.h, grid.w, cw})},
                                    -1)
                                .reshape({grid.tokens(), 1, cf + ch + cw});
  RopeRotation r;
  r.cos = at::cos(angles).to(device);
  r.sin = at::sin(angles).to(device);
  if (device.is_cuda()) {
    r.cos_f32 = r.cos.view({grid.tokens(), -1}).to(at::kFloat).contiguous();
    r.sin_f32 = r.sin.view({grid.tokens(), -1}).to(at::kFloat).contiguous();
  }
  return r;
}

at::Tensor apply_rope(const at::Tensor& x, const std::vector<RopeRotation>& rotations) {
  const int64_t heads = x.size(2), head_dim = x.size(3);
  std::vector<at::Tensor> samples;
  for (int64_t i = 0; i < static_cast<int64_t>(rotations.size()); ++i) {
    const RopeRotation& r = rotations[i];
    const int64_t n = r.cos.size(0);
    const at::Tensor pairs = x[i].slice(0, 0, n).to(at::kDouble).reshape({n, heads, head_dim / 2, 2});
    const at::Tensor re = pairs.select(-1, 0), im = pairs.select(-1, 1);
    // (re + i im) * (cos + i sin)
    const at::Tensor rotated =
        at::stack({re * r.cos - im * r.sin, re * r.sin + im * r.cos}, -1).reshape({n, heads, head_dim});
    samples.push_back(at::cat({rotated.to(at::kFloat), x[i].slice(0, n).to(at::kFloat)}));
  }
  return at::stack(samples);
}

}  // namespace wan::dit
