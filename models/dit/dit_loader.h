// Loading a Wan2.1 DiT from disk in any of the layouts people download:
//   * an official checkpoint folder: config.json + diffusion_pytorch_model.safetensors
//     (or the sharded diffusion_pytorch_model.safetensors.index.json);
//   * a diffusers pipeline folder (its transformer/ subfolder) or that subfolder itself;
//   * a single .safetensors file (ComfyUI; "model.diffusion_model." prefix or none), whose
//     hyper-parameters are read off the tensor shapes (and a config.json beside it);
//   * a causal training checkpoint (Self-Forcing's self_forcing_dmd.pt, causal_checkpoint.h),
//     or a folder holding one: its generator's weights (layout "causal"), the shapes and a
//     config.json beside it giving the hyper-parameters. dit_checkpoint_kind() tells which
//     kind a path holds; the model built is the same WanModel (its forward_chunk is causal).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>

#include "models/dit/dit_config.h"
#include "models/dit/wan_model.h"
#include "models/weights/load_options.h"
#include "models/weights/tensor_map.h"

namespace wan {

struct DiTCheckpoint {
  TensorMap weights;                // official names, dequantised
  std::optional<DiTConfig> config;  // config.json, when the checkpoint has one
  std::string layout;               // "official", "diffusers" or "comfyui"
  std::string weights_path;         // for messages
};

// Reads names, config and tensors without building a model (scaled fp8 dequantised to
// options.dtype, but for the block Linears of the fp8 load, LoadOptions::fp8_at_load, which
// stay e4m3 with their X.weight_scale).
DiTCheckpoint read_dit_checkpoint(const std::string& path, const LoadOptions& options = {});

// Where the transformer blocks of a loaded DiT live.
enum class DiTBlocks {
  OnDevice,         // with the rest of the model
  StreamedFromHost  // block swap: host memory, each block visits the device for its turn
};

// Builds the model on options.device with its matrix-heavy layers in options.dtype (float32
// islands stay float32), loads the weights strictly and applies options.loras (every file is
// read and checked against the model before any is applied). `config` replaces the
// checkpoint's own config.json (fields in config->given are checked against the weights, the
// rest inferred). With DiTBlocks::StreamedFromHost the model is built and loaded in host
// memory, so the device never holds more than two blocks. In the fp8 mode the blocks' Linears
// are quantised as they are read (fp8_load.h), unless merged LoRAs need the bf16 model first.
WanModel load_dit(const std::string& path, const LoadOptions& options,
                  const std::optional<DiTConfig>& config = std::nullopt, DiTBlocks blocks = DiTBlocks::OnDevice);

// Applies options.loras to a loaded model, on options.compute(); `base` holds the
// checkpoint's own tensors (see merge_loras). In run-time mode the model's runtime_loras is
// set, at the files' strengths.
void apply_loras(WanModelImpl& model, const LoadOptions& options, const TensorMap& base);

}  // namespace wan
