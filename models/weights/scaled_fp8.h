// fp8 checkpoints, shared by every model family. Two layouts store a quantised `X.weight`
// (float8, or int8) as weight / s beside its scale s:
//   - ComfyUI's "scaled fp8" files (umt5_xxl_fp8_e4m3fn_scaled, the fp8 DiTs): a per-tensor
//     `X.scale_weight`, an optional `X.scale_input` (read only by an fp8 matmul) and a
//     `scaled_fp8` marker tensor;
//   - LightX2V's quantised DiTs: a per-output-channel `X.weight_scale` [out, 1].
#pragma once
#include <functional>
#include <string>

#include <ATen/ATen.h>

#include "models/weights/tensor_map.h"

namespace wan {

// Which scaled weights stay quantised, by their stored names (the DiT's fp8 mode keeps its
// block Linears' e4m3 codes rather than dequantise and quantise them again).
using KeepQuantized = std::function<bool(const std::string& weight_name)>;

// Each scaled weight is replaced by weight.to(float32) * s (s per tensor, or per output channel
// along the first axis) converted to `dtype` (a caller loading into bfloat16 never holds the
// float32 copy of the whole model); the scale and marker tensors are dropped. Weights without a
// scale are left as stored. A float8 weight that `keep` names stays as stored and its scale
// becomes `X.weight_scale`, float32 [out] (per-tensor scales repeated). `origin` names the
// checkpoint in errors.
void dequantize_scaled_fp8(TensorMap& weights, const std::string& origin, at::ScalarType dtype = at::kFloat,
                           const KeepQuantized& keep = {});

}  // namespace wan
