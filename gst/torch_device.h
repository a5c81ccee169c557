// What the installed libtorch can run on, asked at run time: the same plugin
// binary serves CPU-only and CUDA builds of libtorch.
#pragma once
#include <string>

namespace wan::gst {

// "cuda:0" when libtorch sees a CUDA device, else "cpu".
std::string default_device();

// An empty string when `device` ("cpu", "cuda", "cuda:N") can be used here,
// else the reason it cannot, for the user.
std::string device_problem(const std::string& device);

}  // namespace wan::gst
