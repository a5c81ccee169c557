// The fp8 mode's load (LoadOptions::fp8_at_load): the blocks' linear layers reach the model
// in e4m3 with their per-output-channel scales, one layer quantised at a time (or kept as an
// fp8 checkpoint stores them), so a device never holds the bf16 blocks. load_dit builds the
// model in host memory, where the bf16 blocks it allocates are never written and so take no
// memory, hands the e4m3 tensors to its layers, loads the rest and moves it.
#pragma once

#include <c10/core/Device.h>

#include <string>

#include "models/dit/wan_model.h"
#include "models/weights/tensor_map.h"

namespace wan::dit {

// True for the weight of a block's linear layer (self- and cross-attention projections, the
// FFN's two layers), by official name or under a prefix (stored names of ComfyUI files).
bool is_block_linear_weight(const std::string& name);

// Every block Linear weight X.weight of `weights` (official names) becomes e4m3 on
// `destination` with X.weight_scale, float32 [out], beside it: e4m3 weights stay as they are
// (their scale 1 where the file has none), others (with their scale applied, if any) are
// quantised on `compute` one at a time, from their values as stored (float32 in the released
// checkpoints: the load-then-quantise path of merged LoRAs starts from bf16-rounded values,
// so its scales differ in the last bits).
void quantize_block_linears(TensorMap& weights, const at::Device& compute, const at::Device& destination);

// The model's block Linears take those tensors as their fp8 weights and scales (no copy).
// A layer whose weight is missing or of another shape is left as it is, for the strict load
// to report.
void adopt_fp8_block_linears(WanModelImpl& model, const TensorMap& weights);

}  // namespace wan::dit
