// An error on its way to the bus: a GStreamer error domain and code, a message
// the user can act on, and details for the debug log. Thrown inside the
// element's C++ code and posted at the vfunc boundary, so no exception
// crosses into GStreamer.
#pragma once
#include <gst/gst.h>

#include <stdexcept>
#include <string>

namespace wan::gst {

class ElementError : public std::runtime_error {
 public:
  ElementError(GQuark domain, gint code, const std::string& message, const std::string& debug = "")
      : std::runtime_error(message), domain_(domain), code_(code), debug_(debug) {}

  GQuark domain() const { return domain_; }
  gint code() const { return code_; }
  const std::string& debug() const { return debug_; }

  // GST_ELEMENT_ERROR with a run-time domain and code.
  void post(GstElement* element, const char* file, const char* function, int line) const {
    gst_element_message_full(element, GST_MESSAGE_ERROR, domain_, code_, g_strdup(what()),
                             debug_.empty() ? nullptr : g_strdup(debug_.c_str()), file, function, line);
  }

 private:
  GQuark domain_;
  gint code_;
  std::string debug_;
};

}  // namespace wan::gst
