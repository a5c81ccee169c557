// Loading a Wan2.1 DiT from disk in any of the layouts people download:
//   * an official checkpoint folder: config.json + diffusion_pytorch_model.safetensors
//     (or the sharded diffusion_pytorch_model.safetensors.index.json);
//   * a diffusers pipeline folder (its transformer/ subfolder) or that subfolder itself;
//   * a single .safetensors file (ComfyUI; "model.diffusion_model." prefix or none), whose
//     hyper-parameters are read off the tensor shapes (and a config.json beside it).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>

#include "models/dit/dit_config.h"
#include "models/dit/wan_model.h"
#include "models/weights/lora_spec.h"
#include "models/weights/tensor_map.h"

namespace wan {

struct DiTCheckpoint {
  TensorMap weights;                // official names, dequantised
  std::optional<DiTConfig> config;  // config.json, when the checkpoint has one
  std::string layout;               // "official", "diffusers" or "comfyui"
  std::string weights_path;         // for messages
};

// Reads names, config and tensors without building a model.
DiTCheckpoint read_dit_checkpoint(const std::string& path);

// Where the transformer blocks of a loaded DiT live.
enum class DiTBlocks {
  OnDevice,         // with the rest of the model
  StreamedFromHost  // block swap: host memory, each block visits the device for its turn
};

// LoRAs to apply at load (lora_adapters.h); every file is read and checked against the
// model before any is applied.
struct DiTLoras {
  std::vector<LoraSpec> files;
  LoraMode mode = LoraMode::Merge;
  at::Device compute = at::kCPU;  // where merging runs and run-time factors live
};

// Builds the model on `device` with its matrix-heavy layers in `dtype` (float32 islands
// stay float32) and loads the weights strictly. `config` replaces the checkpoint's own
// config.json (fields in config->given are checked against the weights, the rest inferred).
// With DiTBlocks::StreamedFromHost the model is built and loaded in host memory, so the
// device never holds more than two blocks.
WanModel load_dit(const std::string& path, at::Device device, at::ScalarType dtype,
                  const std::optional<DiTConfig>& config = std::nullopt, DiTBlocks blocks = DiTBlocks::OnDevice,
                  const DiTLoras& loras = {});

// Applies `loras` to a loaded model; `base` holds the checkpoint's own tensors (see
// merge_loras). In run-time mode the model's runtime_loras is set, at the files' strengths.
void apply_loras(WanModelImpl& model, const DiTLoras& loras, const TensorMap& base);

}  // namespace wan
