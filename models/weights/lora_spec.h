// Which LoRA files a model is asked to carry, and how they are applied.
#pragma once
#include <string>
#include <vector>

namespace wan {

struct LoraSpec {
  std::string path;
  double strength = 1.0;  // any finite number, negative included
};

enum class LoraMode {
  Merge,    // added into the weights at load: no cost per step
  Runtime,  // kept apart and added to each layer's output: strengths change without reloading
};

// "path:strength,path:strength" (strength optional, 1.0). Throws wan::Error naming the entry
// whose strength is not a number.
std::vector<LoraSpec> parse_lora_list(const std::string& text);
// The inverse, for tags and messages.
std::string lora_list_text(const std::vector<LoraSpec>& loras);

}  // namespace wan
