#include "models/weights/scaled_fp8.h"

#include <c10/util/StringUtil.h>

#include <vector>

#include "models/common/error.h"

namespace wan {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The marker sits at the top level or under the model's prefix.
bool is_marker(const std::string& name) { return name == "scaled_fp8" || ends_with(name, ".scaled_fp8"); }

// The stem X of a scale's name (X.scale_weight, X.weight_scale), or "" for other tensors.
std::string scaled_stem(const std::string& name) {
  for (const std::string suffix : {".scale_weight", ".weight_scale"})
    if (ends_with(name, suffix)) return name.substr(0, name.size() - suffix.size());
  return "";
}

// The scale as float32 [out]: one value per output channel (stored [out] or [out, 1]), or a
// per-tensor value repeated.
at::Tensor per_channel_scale(const at::Tensor& scale, const at::Tensor& weight, const std::string& origin,
                             const std::string& name) {
  const int64_t out = weight.dim() > 0 ? weight.size(0) : 1;
  const at::Tensor s = scale.to(at::kFloat);
  if (s.numel() == 1) return s.reshape({1}).expand({out}).contiguous();
  const bool per_channel = s.numel() == out && (s.dim() == 1 || (s.dim() == 2 && s.size(1) == 1));
  if (!per_channel)
    throw Error(origin + ": " + name + " has shape " + c10::str(scale.sizes()) +
                "; a scale is one value (per tensor) or one per output channel ([" + std::to_string(out) + "] or [" +
                std::to_string(out) + ", 1])");
  return s.reshape({out});
}

// A float8 weight: one byte per value, a floating type (int8 weights are dequantised always).
bool is_float8(const at::Tensor& t) { return t.element_size() == 1 && at::isFloatingType(t.scalar_type()); }

}  // namespace

void dequantize_scaled_fp8(TensorMap& weights, const std::string& origin, at::ScalarType dtype,
                           const KeepQuantized& keep) {
  // Two scales for one weight (ComfyUI's and LightX2V's names together) would be applied twice,
  // or one would silently win: no released file does this, so it is refused.
  for (const auto& [name, tensor] : weights)
    if (ends_with(name, ".scale_weight")) {
      const std::string stem = scaled_stem(name);
      if (weights.count(stem + ".weight_scale"))
        throw Error(origin + ": " + stem + ".weight has two scales, " + name + " and " + stem +
                    ".weight_scale; a checkpoint gives one");
    }
  for (auto it = weights.begin(); it != weights.end();) {
    const std::string& name = it->first;
    if (is_marker(name) || ends_with(name, ".scale_input")) {
      it = weights.erase(it);
      continue;
    }
    const std::string stem = scaled_stem(name);
    if (stem.empty()) {
      ++it;
      continue;
    }
    const std::string weight = stem + ".weight";
    auto target = weights.find(weight);
    if (target == weights.end())
      throw Error(origin + ": " + name + " scales a tensor " + weight + " the checkpoint does not have");
    const at::Tensor scale = per_channel_scale(it->second, target->second, origin, name);
    if (keep && is_float8(target->second) && keep(weight)) {
      // A name inserted after `it` may be visited again: the float32 [out] scale is kept as it is.
      const std::string kept = stem + ".weight_scale";
      if (name == kept) {
        it->second = scale;
        ++it;
      } else {
        it = weights.erase(it);
        weights[kept] = scale;
      }
      continue;
    }
    // Per channel along the first axis: [out, 1, ...] against the weight's shape.
    std::vector<int64_t> shape(target->second.dim(), 1);
    if (!shape.empty()) shape[0] = scale.numel();
    target->second = (target->second.to(at::kFloat) * scale.reshape(shape)).to(dtype);
    it = weights.erase(it);
  }
}

}  // namespace wan
