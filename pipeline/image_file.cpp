// The one translation unit that compiles stb_image.
#include "pipeline/image_file.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>

#include <cstring>
#include <memory>

#include "models/common/error.h"

namespace wan {

RgbImage read_image_file(const std::string& path) {
  int width = 0, height = 0, channels = 0;
  // Like PIL's convert('RGB'): grey is replicated, alpha is dropped.
  std::unique_ptr<stbi_uc, void (*)(void*)> data(stbi_load(path.c_str(), &width, &height, &channels, 3),
                                                 stbi_image_free);
  if (!data) throw Error("cannot read image " + path + ": " + stbi_failure_reason());
  RgbImage image;
  image.width = width;
  image.height = height;
  image.pixels.resize(static_cast<size_t>(width) * height * 3);
  std::memcpy(image.pixels.data(), data.get(), image.pixels.size());
  return image;
}

}  // namespace wan
