// A LoRA file as people download it (kohya / musubi, Wan-Fun, official names with or
// without `diffusion_model.`, diffusers PEFT; pairs, `.alpha`, full `.diff` / `.diff_b`
// deltas), read from safetensors or a torch.save archive and resolved to the official
// names and shapes of the parameters it changes. The key grammar is ComfyUI's
// (tests/fixtures/README.md, "LoRA on the DiT"); diffusers module names go through the
// one name table (checkpoint_layout.h).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "models/weights/tensor_map.h"

namespace wan {

// What one file does to one parameter.
struct LoraPatch {
  at::Tensor down, up;  // low rank: delta = alpha_over_rank * up @ down (float32, CPU)
  double alpha_over_rank = 1.0;
  at::Tensor diff;  // full delta of the parameter's shape (float32, CPU)
  bool low_rank() const { return down.defined(); }
  // The parameter's change at `strength`, shaped like it (float32 on `device`): ComfyUI's
  // up @ down times float32(strength * alpha / rank) in one multiply, or strength * diff.
  at::Tensor delta(const std::vector<int64_t>& shape, const at::Device& device, double strength) const;
};

struct LoraFile {
  std::string path;
  std::string format;                        // "kohya", "wan-fun", "official", "diffusers" (from the keys)
  std::map<std::string, LoraPatch> patches;  // by the official name of the parameter changed
};

// The parameters a LoRA may change: official name -> shape.
using ParameterShapes = std::map<std::string, std::vector<int64_t>>;

// Reads `path` and resolves every key against `model`. Throws wan::Error, and applies
// nothing, for: an unreadable or truncated file; adapter types other than LoRA and full
// deltas (LoHa, LoKr, OFT, ... named); keys that reach no parameter (a few named, with the
// format guessed); a shape that does not fit its parameter (key and both shapes named:
// a LoRA made for another model size).
LoraFile read_lora_file(const std::string& path, const ParameterShapes& model);

// The same on the tensors of a file already read (`path` names it in errors).
LoraFile resolve_lora(const std::string& path, const TensorMap& tensors, const ParameterShapes& model);

}  // namespace wan
