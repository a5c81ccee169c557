// Reading the input frames of i2v / flf2v from image files (PNG, JPEG, BMP,
// ...), decoded to packed 8-bit RGB.
#pragma once
#include <string>

#include "pipeline/request.h"

namespace wan {

// Throws wan::Error naming the file and the decoder's reason.
RgbImage read_image_file(const std::string& path);

}  // namespace wan
