// umT5 encoder checkpoints in the layouts Wan users have: the official
// models_t5_umt5-xxl-enc-bf16.pth, the diffusers text_encoder/ folder and
// ComfyUI's umt5_xxl single files (both transformers UMT5EncoderModel names),
// including its scaled-fp8 ones (umt5_xxl_fp8_e4m3fn_scaled).
#pragma once
#include <string>

#include <ATen/ATen.h>

#include "models/t5/t5_encoder.h"
#include "models/weights/tensor_map.h"

namespace wan {

// The encoder's tensors under official names, scaled-fp8 weights dequantised
// to `dequantized_dtype`. Sets *layout to the layout found.
TensorMap t5_official_weights(TensorMap checkpoint, std::string* layout = nullptr,
                              at::ScalarType dequantized_dtype = at::kFloat);

// Builds the encoder the checkpoint describes (sizes read off its shapes)
// directly on `device` in `dtype`, loads it strictly, in eval mode.
// `what` names the checkpoint in errors.
T5Encoder load_t5_encoder(const TensorMap& checkpoint, const std::string& what, at::Device device = at::kCPU,
                          at::ScalarType dtype = at::kFloat);

// Reads the tensors of a .safetensors file, a sharded *.safetensors.index.json
// or a folder holding either (diffusers text_encoder/).
TensorMap read_t5_checkpoint(const std::string& path);

}  // namespace wan
