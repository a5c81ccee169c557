// ComfyUI's "scaled fp8" checkpoints (e.g. umt5_xxl_fp8_e4m3fn_scaled, the fp8
// DiTs): each quantised `X.weight` is stored as weight / s in float8 next to a
// per-tensor `X.scale_weight` s, an optional `X.scale_input` (used only by an
// fp8 matmul) and a `scaled_fp8` marker tensor. Shared by every model family.
#pragma once
#include <string>

#include <c10/core/ScalarType.h>

#include "models/weights/tensor_map.h"

namespace wan {

// Replaces every scaled weight by weight.to(float32) * scale_weight, converted
// to `dtype` (a caller loading into bfloat16 never holds the float32 copy of
// the whole model), and drops the scale and marker tensors. Weights without a
// scale are left as stored. `origin` names the checkpoint in errors.
void dequantize_scaled_fp8(TensorMap& weights, const std::string& origin, at::ScalarType dtype = at::kFloat);

}  // namespace wan
