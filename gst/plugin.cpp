// The GStreamer plugin `wan`.
#include <gst/gst.h>

#include "gst/gstwanvideosrc.h"

static gboolean plugin_init(GstPlugin* plugin) { return GST_ELEMENT_REGISTER(wanvideosrc, plugin); }

// Apache-2.0 is not among GStreamer's known license strings, hence "unknown".
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, wan,
                  "Video generation with the Wan2.1 diffusion models (text, image, first-last-frame to video)",
                  plugin_init, WAN_VERSION, GST_LICENSE_UNKNOWN, "gst-wan", "gst-wan source tree")
