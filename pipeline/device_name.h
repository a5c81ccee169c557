// Device names as users write them ("cpu", "cuda", "cuda:N"), checked against what the
// installed libtorch sees at run time: the same binaries serve CPU-only and CUDA builds.
#pragma once
#include <string>
#include <vector>

#include <c10/core/Device.h>

namespace wan {

// "cuda:0" when libtorch sees a CUDA device, else "cpu".
std::string default_device_name();

// The device `name` names, with its index, if it can be used here; otherwise throws
// wan::Error naming `field`, the value and what is wrong.
at::Device parse_device(const std::string& name, const std::string& field = "device");

// A comma-separated list of device names ("cuda:0,cuda:1"; one name is a list of one), each
// checked by parse_device. A device may appear more than once (several pipelines on it).
std::vector<std::string> parse_device_list(const std::string& names, const std::string& field = "device");

}  // namespace wan
