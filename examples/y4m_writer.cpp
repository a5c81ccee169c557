#include "examples/y4m_writer.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <vector>

#include "models/common/error.h"

namespace wan {
namespace {

uint8_t clamp_byte(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

// Full-range BT.601, as JFIF defines it.
void rgb_to_ycbcr(double r, double g, double b, double& y, double& cb, double& cr) {
  y = 0.299 * r + 0.587 * g + 0.114 * b;
  cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b;
  cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b;
}

}  // namespace

Y4mWriter::Y4mWriter(const std::string& path, int width, int height, int fps, Y4mChroma chroma)
    : path_(path), width_(width), height_(height), chroma_(chroma) {
  if (chroma == Y4mChroma::C420jpeg && (width % 2 || height % 2))
    throw Error("y4m 4:2:0 needs even dimensions, got " + std::to_string(width) + "x" + std::to_string(height));
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) throw Error("cannot create " + path + ": " + std::strerror(errno));
  const char* tag = chroma == Y4mChroma::C420jpeg ? "C420jpeg XYSCSS=420JPEG" : "C444 XYSCSS=444";
  std::fprintf(file_, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 %s XCOLORRANGE=FULL\n", width, height, fps, tag);
}

Y4mWriter::~Y4mWriter() {
  if (file_) std::fclose(file_);
}

void Y4mWriter::close() {
  if (!file_) return;
  const bool failed = std::fclose(file_) != 0;
  file_ = nullptr;
  if (failed) throw Error("writing " + path_ + " failed: " + std::strerror(errno));
}

void Y4mWriter::write_frame(const uint8_t* rgb) {
  const size_t n = static_cast<size_t>(width_) * height_;
  std::vector<uint8_t> y(n);
  std::vector<double> cb(n), cr(n);
  for (size_t i = 0; i < n; ++i) {
    double yy;
    rgb_to_ycbcr(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], yy, cb[i], cr[i]);
    y[i] = clamp_byte(yy);
  }
  std::vector<uint8_t> u, v;
  if (chroma_ == Y4mChroma::C444) {
    for (size_t i = 0; i < n; ++i) u.push_back(clamp_byte(cb[i])), v.push_back(clamp_byte(cr[i]));
  } else {
    // JPEG siting: each chroma sample is the mean of its 2x2 block.
    for (int r = 0; r < height_; r += 2)
      for (int c = 0; c < width_; c += 2) {
        const size_t a = static_cast<size_t>(r) * width_ + c, b = a + width_;
        u.push_back(clamp_byte((cb[a] + cb[a + 1] + cb[b] + cb[b + 1]) / 4));
        v.push_back(clamp_byte((cr[a] + cr[a + 1] + cr[b] + cr[b + 1]) / 4));
      }
  }
  std::fputs("FRAME\n", file_);
  std::fwrite(y.data(), 1, y.size(), file_);
  std::fwrite(u.data(), 1, u.size(), file_);
  std::fwrite(v.data(), 1, v.size(), file_);
  if (std::ferror(file_)) throw Error("writing " + path_ + " failed: " + std::strerror(errno));
  ++frames_;
}

}  // namespace wan
