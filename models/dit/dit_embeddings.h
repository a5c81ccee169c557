// Position encodings of the DiT, both computed in float64 as the reference does: the
// sinusoidal embedding of the diffusion timestep and the 3-D rotary embedding (RoPE) of
// the video tokens.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace wan::dit {

// [B] timesteps -> float64 [B, freq_dim] = [cos(t w_k), sin(t w_k)], w_k = 10000^(-k / (freq_dim/2)).
at::Tensor sinusoidal_time_embedding(int64_t freq_dim, const at::Tensor& t);

// A sample's token grid after patch embedding (frames, rows, columns); tokens are f-major.
struct PatchGrid {
  int64_t f = 0, h = 0, w = 0;
  int64_t tokens() const { return f * h * w; }
  bool operator<(const PatchGrid& o) const { return std::tie(f, h, w) < std::tie(o.f, o.h, o.w); }
  bool operator==(const PatchGrid& o) const { return std::tie(f, h, w) == std::tie(o.f, o.h, o.w); }
};

// cos / sin of every token's rotation angles, float64 [tokens, 1, head_dim / 2]; on CUDA
// also float32 [tokens, head_dim / 2] copies for the fused q/k kernel.
struct RopeRotation {
  at::Tensor cos, sin;
  at::Tensor cos_f32, sin_f32;  // undefined on the CPU
};

// Rotations per grid shape, built once and kept: a generation reuses one grid every step.
// The head_dim / 2 complex channels are split between the axes as
// [head_dim/2 - 2 (head_dim/6) frame | head_dim/6 height | head_dim/6 width].
// frame_offset: the absolute frame of the grid's first frame (the causal DiT's chunks; the
// frame axis then runs frame_offset .. frame_offset + f - 1, computed by the same formula
// past the reference's 1024-row table).
class RopeCache {
 public:
  RopeCache(int64_t head_dim, int64_t max_positions) : head_dim_(head_dim), max_positions_(max_positions) {}
  const RopeRotation& rotation(const PatchGrid& grid, const at::Device& device, int64_t frame_offset = 0);

 private:
  using Key = std::pair<PatchGrid, std::string>;
  struct OffsetRotation {
    Key key;
    int64_t offset = 0;
    RopeRotation rotation;
  };
  RopeRotation build(const PatchGrid& grid, const at::Device& device, int64_t frame_offset) const;

  int64_t head_dim_;
  int64_t max_positions_;
  std::map<Key, RopeRotation> cache_;
  std::optional<OffsetRotation> last_offset_;
};

// Rotates the channel pairs (x[2j], x[2j+1]) of the first tokens of each sample by its
// rotation (x: [B, S, heads, head_dim]); padding rows pass unchanged. Returns float32.
at::Tensor apply_rope(const at::Tensor& x, const std::vector<RopeRotation>& rotations);

}  // namespace wan::dit
