// Reads the conditioning images with GStreamer's own decoders, so every
// format the installed plugins know (PNG, JPEG, WebP, a video's first frame...)
// works the same as everywhere else in the pipeline.
#pragma once
#include <string>

#include "pipeline/request.h"

namespace wan::gst {

// Decodes `path` to 8-bit RGB (an alpha channel is dropped, like PIL's
// convert('RGB')). Throws ElementError: RESOURCE/NOT_FOUND when the file does
// not exist, RESOURCE/OPEN_READ when it cannot be read, STREAM/DECODE when no
// decoder makes an image of it. Messages name the file.
RgbImage load_rgb_image(const std::string& path);

}  // namespace wan::gst
