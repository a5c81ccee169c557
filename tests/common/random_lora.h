// A random kohya-format LoRA (lora_unet_<module>.lora_down / .lora_up) of `rank` on every
// matrix of a DiT's blocks, for tests that need a LoRA fitting a tiny checkpoint.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>

#include <ATen/ATen.h>

#include "models/weights/tensor_map.h"

namespace wan::test {

inline TensorMap random_kohya_lora(const TensorMap& dit_weights, int64_t rank, uint64_t seed) {
  TensorMap lora;
  at::manual_seed(seed);
  for (const auto& [name, t] : dit_weights) {
    const std::string suffix = ".weight";
    if (t.dim() != 2 || name.rfind("blocks.", 0) != 0 || name.size() < suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::string module = name.substr(0, name.size() - suffix.size());
    std::replace(module.begin(), module.end(), '.', '_');
    lora["lora_unet_" + module + ".lora_down.weight"] = at::randn({rank, t.size(1)});
    lora["lora_unet_" + module + ".lora_up.weight"] = at::randn({t.size(0), rank});
  }
  return lora;
}

}  // namespace wan::test
