#include "models/weights/scaled_fp8.h"

#include <ATen/ATen.h>

#include "models/common/error.h"

namespace wan {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The marker sits at the top level or under the model's prefix.
bool is_marker(const std::string& name) { return name == "scaled_fp8" || ends_with(name, ".scaled_fp8"); }

}  // namespace

void dequantize_scaled_fp8(TensorMap& weights, const std::string& origin, at::ScalarType dtype) {
  const std::string scale_suffix = ".scale_weight";
  for (auto it = weights.begin(); it != weights.end();) {
    const std::string& name = it->first;
    if (is_marker(name) || ends_with(name, ".scale_input")) {
      it = weights.erase(it);
      continue;
    }
    if (!ends_with(name, scale_suffix)) {
      ++it;
      continue;
    }
    const std::string weight = name.substr(0, name.size() - scale_suffix.size()) + ".weight";
    auto target = weights.find(weight);
    if (target == weights.end())
      throw Error(origin + ": " + name + " scales a tensor " + weight + " the checkpoint does not have");
    if (it->second.numel() != 1)
      throw Error(origin + ": " + name + " holds " + std::to_string(it->second.numel()) +
                  " values; only per-tensor fp8 scales (one value) are supported");
    const at::Tensor scale = it->second.to(at::kFloat).reshape({});
    target->second = (target->second.to(at::kFloat) * scale).to(dtype);
    it = weights.erase(it);
  }
}

}  // namespace wan
