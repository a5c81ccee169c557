// The element's keyframes and prompts properties read into the segments of a video from
// keyframes (pipeline/keyframe_segments.h), every keyframe decoded as image-location is.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "pipeline/keyframe_segments.h"

namespace wan::gst {

// `list`: comma-separated image paths; `prompts`: one per segment, or none. Throws
// ElementError: LIBRARY/SETTINGS for a malformed list, fewer than two keyframes or a prompt
// count that does not fit; an image that cannot be read fails as load_rgb_image does, its
// message naming which keyframe it is. `on_reading(path)` comes before each image.
KeyframeSegments load_keyframes(const std::string& list, const std::vector<std::string>& prompts,
                                const std::function<void(const std::string& path)>& on_reading);

}  // namespace wan::gst
