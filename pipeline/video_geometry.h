// The size of a generation in pixels, latents and DiT tokens.
#pragma once
#include <cstdint>

#include "pipeline/request.h"

namespace wan {

struct VideoGeometry {
  int width = 0, height = 0;  // pixels
  int num_frames = 0;
  int64_t lat_h = 0, lat_w = 0, latent_frames = 0;
  int64_t seq_len = 0;  // DiT tokens per sample

  static constexpr int kVaeStrideT = 4, kVaeStrideHW = 8, kPatchHW = 2;
};

// The reference's size from a pixel budget and an aspect ratio (height /
// width of the conditioning image): lat = round(sqrt(area * aspect) // 8 // 2 * 2)
// in float64, then 8 * lat pixels. Throws wan::Error when the budget is too
// small for a 16-pixel side.
VideoGeometry geometry_from_area(int64_t max_area, double aspect, int num_frames);

// An explicit size (multiples of 16).
VideoGeometry geometry_from_size(int width, int height, int num_frames);

// What a request asks for: its explicit size, else max_area with the first
// image's aspect (t2v: the official 832x480 shape scaled to max_area).
VideoGeometry request_geometry(const Request& request);

}  // namespace wan
