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

// One "path[:strength]" (strength optional, 1.0); the path may hold commas. The strength
// follows the last ':' unless that ':' is part of the path (a folder after it). Throws
// wan::Error when the strength is not a number or no file is named.
LoraSpec parse_lora_spec(const std::string& entry);
// "path:strength,path:strength": parse_lora_spec for each comma-separated entry.
std::vector<LoraSpec> parse_lora_list(const std::string& text);
// The inverse, for tags and messages.
std::string lora_list_text(const std::vector<LoraSpec>& loras);

}  // namespace wan
