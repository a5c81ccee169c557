#include "gst/image_loader.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstring>
#include <memory>

#include "gst/element_error.h"

namespace wan::gst {
namespace {

// The decode pipeline, set back to NULL before it is released.
struct PipelineReleaser {
  void operator()(GstElement* pipeline) const {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
};
using DecodePipeline = std::unique_ptr<GstElement, PipelineReleaser>;

// Generous: the first use may have to load the decoder plugins.
constexpr GstClockTime kDecodeTimeout = 60 * GST_SECOND;
// The largest image accepted, each side (the requests' own limit): the appsink's caps refuse
// bigger ones at negotiation, before a frame of that size is allocated.
constexpr int kLargestSide = 16384;

std::string quoted(const std::string& path) { return "\"" + path + "\""; }

ElementError decode_error(const std::string& path, const std::string& why, const std::string& debug = "") {
  return ElementError(GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
                      "Could not decode the image " + quoted(path) + ": " + why, debug);
}

RgbImage copy_rgb(GstSample* sample, const std::string& path) {
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample)))
    throw decode_error(path, "the decoder produced no usable video format");
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ))
    throw decode_error(path, "the decoded image could not be mapped");

  RgbImage image;
  image.width = GST_VIDEO_INFO_WIDTH(&info);
  image.height = GST_VIDEO_INFO_HEIGHT(&info);
  image.pixels.resize(size_t(image.width) * image.height * 3);
  const auto* src = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  const size_t row = size_t(image.width) * 3;
  for (int y = 0; y < image.height; ++y) std::memcpy(&image.pixels[y * row], src + size_t(y) * stride, row);
  gst_video_frame_unmap(&frame);
  return image;
}

}  // namespace

RgbImage load_rgb_image(const std::string& path) {
  if (!g_file_test(path.c_str(), G_FILE_TEST_EXISTS))
    throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
                       "The image file " + quoted(path) + " does not exist.");
  if (g_file_test(path.c_str(), G_FILE_TEST_IS_DIR))
    throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
                       "The image location " + quoted(path) + " is a folder, not an image file.");
  // A FIFO, socket or device would block filesrc's open (and the state change with it).
  if (!g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR))
    throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
                       "The image location " + quoted(path) + " is not a regular file (a pipe, socket or device?).");

  GError* parse_error = nullptr;
  const std::string description = "filesrc name=file ! decodebin ! videoconvert ! video/x-raw,format=RGB,width=[1," +
                                  std::to_string(kLargestSide) + "],height=[1," + std::to_string(kLargestSide) +
                                  "] ! appsink name=sink sync=false";
  DecodePipeline pipeline(gst_parse_launch(description.c_str(), &parse_error));
  if (!pipeline || parse_error) {
    const std::string why = parse_error ? parse_error->message : "unknown reason";
    g_clear_error(&parse_error);
    throw ElementError(GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                       "Cannot decode images: the GStreamer base plugins (filesrc, decodebin, videoconvert, "
                       "appsink) are missing (" +
                           why + ").");
  }
  GstElement* file = gst_bin_get_by_name(GST_BIN(pipeline.get()), "file");
  g_object_set(file, "location", path.c_str(), nullptr);
  gst_object_unref(file);

  gst_element_set_state(pipeline.get(), GST_STATE_PAUSED);
  GstBus* bus = gst_element_get_bus(pipeline.get());
  GstMessage* message = gst_bus_timed_pop_filtered(
      bus, kDecodeTimeout, GstMessageType(GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  gst_object_unref(bus);
  if (!message) throw decode_error(path, "no image was decoded within 60 seconds");

  const GstMessageType type = GST_MESSAGE_TYPE(message);
  if (type == GST_MESSAGE_ERROR) {
    GError* error = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(message, &error, &debug);
    const bool unreadable = error->domain == GST_RESOURCE_ERROR;
    const std::string why = error->message;
    const std::string details = debug ? debug : "";
    g_clear_error(&error);
    g_free(debug);
    gst_message_unref(message);
    if (unreadable)
      throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
                         "Could not read the image file " + quoted(path) + ": " + why, details);
    if (details.find("not-negotiated") != std::string::npos)
      throw decode_error(path,
                         "the image is larger than " + std::to_string(kLargestSide) + "x" +
                             std::to_string(kLargestSide) + " pixels (or cannot be converted to RGB)",
                         details);
    throw decode_error(path, why + " (is it an image file?)", details);
  }
  gst_message_unref(message);
  if (type == GST_MESSAGE_EOS) throw decode_error(path, "the file holds no image");

  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink");
  GstSample* sample = gst_app_sink_pull_preroll(GST_APP_SINK(sink));
  gst_object_unref(sink);
  if (!sample) throw decode_error(path, "the decoder produced no frame");
  try {
    RgbImage image = copy_rgb(sample, path);
    gst_sample_unref(sample);
    return image;
  } catch (...) {
    gst_sample_unref(sample);
    throw;
  }
}

}  // namespace wan::gst
