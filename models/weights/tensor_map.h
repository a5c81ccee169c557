// A checkpoint's tensors by name, in name order.
#pragma once
#include <map>
#include <string>

#include <ATen/ATen.h>

namespace wan {

using TensorMap = std::map<std::string, at::Tensor>;

}  // namespace wan
