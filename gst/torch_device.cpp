#include "gst/torch_device.h"

#include <ATen/Context.h>

#include <cctype>

namespace wan::gst {

std::string default_device() { return at::hasCUDA() ? "cuda:0" : "cpu"; }

std::string device_problem(const std::string& device) {
  if (device == "cpu") return "";
  const std::string cuda = "cuda";
  if (device.compare(0, cuda.size(), cuda) != 0)
    return "unknown device \"" + device + "\": expected \"cpu\", \"cuda\" or \"cuda:N\"";
  if (device.size() > cuda.size()) {
    bool digits = device[cuda.size()] == ':' && device.size() > cuda.size() + 1;
    for (size_t i = cuda.size() + 1; digits && i < device.size(); ++i)
      digits = std::isdigit(static_cast<unsigned char>(device[i])) != 0;
    if (!digits) return "unknown device \"" + device + "\": expected \"cpu\", \"cuda\" or \"cuda:N\"";
  }
  if (!at::hasCUDA()) return "device \"" + device + "\" asked for, but this libtorch has no CUDA device; use device=cpu";
  return "";
}

}  // namespace wan::gst
