// A YUV4MPEG2 (.y4m) writer for 8-bit RGB frames: the uncompressed stream
// format that GStreamer (decodebin, y4mdec), ffmpeg and mpv read directly.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace wan {

enum class Y4mChroma {
  C420jpeg,  // 4:2:0, full-range BT.601 (JPEG) YCbCr, chroma centred: small files
  C444,      // 4:4:4, full-range BT.601: no chroma loss
};

class Y4mWriter {
 public:
  // Throws wan::Error when the file cannot be created, or when 4:2:0 is asked
  // for odd dimensions.
  Y4mWriter(const std::string& path, int width, int height, int fps, Y4mChroma chroma);
  ~Y4mWriter();
  Y4mWriter(const Y4mWriter&) = delete;
  Y4mWriter& operator=(const Y4mWriter&) = delete;

  // One frame of packed RGB, width * height * 3 bytes.
  void write_frame(const uint8_t* rgb);
  int frames_written() const { return frames_; }
  void close();

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  int width_, height_;
  Y4mChroma chroma_;
  int frames_ = 0;
};

}  // namespace wan
