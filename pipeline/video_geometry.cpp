#include "pipeline/video_geometry.h"

#include <cmath>
#include <string>

#include "models/common/error.h"

namespace wan {
namespace {

// Python's (and numpy's) `a // b` on floats, which is computed from fmod and
// can differ from floor(a / b) when the quotient rounds up to an integer.
double floordiv(double a, double b) {
  double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) {
    mod += b;
    div -= 1.0;
  }
  if (div == 0) return std::copysign(0.0, a / b);
  double floored = std::floor(div);
  if (div - floored > 0.5) floored += 1.0;
  return floored;
}

void finish(VideoGeometry& g) {
  g.width = static_cast<int>(g.lat_w * VideoGeometry::kVaeStrideHW);
  g.height = static_cast<int>(g.lat_h * VideoGeometry::kVaeStrideHW);
  g.latent_frames = (g.num_frames - 1) / VideoGeometry::kVaeStrideT + 1;
  g.seq_len = g.latent_frames * g.lat_h * g.lat_w / (VideoGeometry::kPatchHW * VideoGeometry::kPatchHW);
}

}  // namespace

VideoGeometry geometry_from_area(int64_t max_area, double aspect, int num_frames) {
  const double area = static_cast<double>(max_area);
  auto side = [](double pixels) {
    const double lat = floordiv(floordiv(pixels, VideoGeometry::kVaeStrideHW), VideoGeometry::kPatchHW);
    // Python's round() of an integral float: exact.
    return static_cast<int64_t>(lat) * VideoGeometry::kPatchHW;
  };
  VideoGeometry g;
  g.num_frames = num_frames;
  g.lat_h = side(std::sqrt(area * aspect));
  g.lat_w = side(std::sqrt(area / aspect));
  if (g.lat_h < VideoGeometry::kPatchHW || g.lat_w < VideoGeometry::kPatchHW)
    throw Error("max_area " + std::to_string(max_area) +
                " is too small for this aspect ratio: each side needs at least 16 pixels");
  finish(g);
  return g;
}

VideoGeometry geometry_from_size(int width, int height, int num_frames) {
  VideoGeometry g;
  g.num_frames = num_frames;
  g.lat_h = height / VideoGeometry::kVaeStrideHW;
  g.lat_w = width / VideoGeometry::kVaeStrideHW;
  finish(g);
  return g;
}

VideoGeometry request_geometry(const Request& request) {
  if (request.width > 0 && request.height > 0)
    return geometry_from_size(request.width, request.height, request.num_frames);
  if (request.image) {
    const double aspect = static_cast<double>(request.image->height) / request.image->width;
    return geometry_from_area(request.max_area, aspect, request.num_frames);
  }
  // t2v without a size: the official 832x480 shape scaled to the budget, in
  // multiples of 16 (832 * 480 itself gives exactly 832x480).
  const double area = static_cast<double>(request.max_area);
  const auto side = [](double pixels) { return static_cast<int>(std::floor(pixels / 16)) * 16; };
  const int width = side(std::sqrt(area * 832 / 480)), height = side(std::sqrt(area * 480 / 832));
  if (width < 16 || height < 16)
    throw Error("max_area " + std::to_string(request.max_area) + " is too small: each side needs at least 16 pixels");
  return geometry_from_size(width, height, request.num_frames);
}

}  // namespace wan
