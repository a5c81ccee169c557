// How a model is loaded, the same for every model family (DiT, VAE, umT5, CLIP): where it is
// built, in which dtype, and the adapters applied on the way (see model_weights.h for the
// flow every loader follows).
#pragma once
#include <optional>
#include <vector>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "models/dit/self_attention_kind.h"
#include "models/weights/lora_spec.h"

namespace wan {

struct LoadOptions {
  LoadOptions() : LoadOptions(at::kCPU) {}
  explicit LoadOptions(at::Device device, at::ScalarType dtype = at::kFloat) : device(device), dtype(dtype) {}

  at::Device device;     // where the model's tensors live once loaded
  at::ScalarType dtype;  // the dtype of its matrix-heavy layers (float32 islands stay)
  // The fp8 fast mode (the DiT's; dtype bfloat16): the blocks' linear layers in e4m3 with
  // per-output-channel scales, quantised on compute() after merged LoRAs are added.
  bool fp8_linear = false;
  // The DiT blocks' self-attention: exact, or one of the 8-bit kernels (lossy and opt-in, with
  // any compute dtype, on devices that can run it).
  SelfAttentionKind self_attention = SelfAttentionKind::exact;

  // Adapters (the DiT's; other families refuse them): LoRA files, merged into the weights
  // or kept apart and applied at run time.
  std::vector<LoraSpec> loras;
  LoraMode lora_mode = LoraMode::Merge;
  // Where the model computes when that is not `device` (a DiT kept in host memory between
  // denoising phases, or streamed block by block): LoRA merging runs there and run-time
  // factors live there.
  std::optional<at::Device> compute_device;

  at::Device compute() const { return compute_device.value_or(device); }
  // fp8 straight from the file: the blocks' Linears are quantised one by one as they are read
  // (or kept as stored in fp8 checkpoints), so the device never holds them in bf16. Merged
  // LoRAs need the bf16 weights first, and take the load-then-quantise path.
  bool fp8_at_load() const { return fp8_linear && (loras.empty() || lora_mode == LoraMode::Runtime); }
};

}  // namespace wan
