#include "gst/keyframe_input.h"

#include "gst/element_error.h"
#include "gst/image_loader.h"
#include "models/common/error.h"

namespace wan::gst {

KeyframeSegments load_keyframes(const std::string& list, const std::vector<std::string>& prompts,
                                const std::function<void(const std::string& path)>& on_reading) {
  KeyframeSegments segments;
  std::vector<std::string> paths;
  try {
    paths = split_keyframe_list(list);
    // The counts first: a list that cannot make a video fails before any image is decoded.
    segments.keyframes.resize(paths.size());
    segments.prompts = prompts;
    segments.validate();
  } catch (const Error& e) {
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, e.what());
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    if (on_reading) on_reading(paths[i]);
    try {
      segments.keyframes[i] = load_rgb_image(paths[i]);
    } catch (const ElementError& e) {
      throw ElementError(e.domain(), e.code(),
                         "Keyframe " + std::to_string(i + 1) + " of " + std::to_string(paths.size()) + ": " + e.what(),
                         e.debug());
    }
  }
  return segments;
}

}  // namespace wan::gst
