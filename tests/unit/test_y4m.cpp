// The Y4M writer of wan-generate: a header players accept, frame markers, and
// full-range BT.601 planes (white -> Y 255, black -> Y 0, grey chroma 128),
// with 4:2:0 chroma the mean of each 2x2 block.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "examples/y4m_writer.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> solid(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> px;
  for (int i = 0; i < w * h; ++i) px.insert(px.end(), {r, g, b});
  return px;
}

void test_420(const fs::path& file) {
  {
    wan::Y4mWriter w(file.string(), 4, 2, 16, wan::Y4mChroma::C420jpeg);
    w.write_frame(solid(4, 2, 255, 255, 255).data());
    std::vector<uint8_t> half = solid(4, 2, 0, 0, 0);
    for (int x = 0; x < 2; ++x) half[3 * x] = half[3 * (4 + x)] = 255;  // red left 2x2 block
    w.write_frame(half.data());
    EXPECT(w.frames_written() == 2);
    w.close();
  }
  const std::string s = read_all(file);
  const size_t header_end = s.find('\n');
  EXPECT(s.rfind("YUV4MPEG2 W4 H2 F16:1 Ip A1:1 C420jpeg", 0) == 0);
  const size_t frame = 6 + 8 + 2 + 2;  // "FRAME\n" + Y + U + V
  EXPECT_MSG(s.size() == header_end + 1 + 2 * frame, std::to_string(s.size()));
  const size_t f0 = header_end + 1, f1 = f0 + frame;
  EXPECT(s.compare(f0, 6, "FRAME\n") == 0 && s.compare(f1, 6, "FRAME\n") == 0);
  for (int i = 0; i < 8; ++i) EXPECT(static_cast<uint8_t>(s[f0 + 6 + i]) == 255);
  EXPECT(static_cast<uint8_t>(s[f0 + 14]) == 128 && static_cast<uint8_t>(s[f0 + 16]) == 128);
  // Red: Y 76, Cr 255 (clamped from 255.5) on the left block; black on the right.
  EXPECT(static_cast<uint8_t>(s[f1 + 6]) == 76 && static_cast<uint8_t>(s[f1 + 8]) == 0);
  EXPECT(static_cast<uint8_t>(s[f1 + 16]) == 255 && static_cast<uint8_t>(s[f1 + 17]) == 128);
}

void test_444(const fs::path& file) {
  {
    wan::Y4mWriter w(file.string(), 3, 1, 16, wan::Y4mChroma::C444);
    w.write_frame(solid(3, 1, 128, 128, 128).data());
  }
  const std::string s = read_all(file);
  EXPECT(s.find("C444") != std::string::npos);
  EXPECT(s.size() == s.find('\n') + 1 + 6 + 9);
}

}  // namespace

int main() {
  const fs::path dir = fs::temp_directory_path() / ("wan-test-y4m-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  test_420(dir / "a.y4m");
  test_444(dir / "b.y4m");
  EXPECT_ERROR(wan::Y4mWriter((dir / "c.y4m").string(), 3, 2, 16, wan::Y4mChroma::C420jpeg), "even");
  EXPECT_ERROR(wan::Y4mWriter((dir / "missing/d.y4m").string(), 4, 2, 16, wan::Y4mChroma::C444), "cannot create");
  fs::remove_all(dir);
  return wan::test::check_exit("test-y4m");
}
