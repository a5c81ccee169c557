// umT5 encoder checkpoints in the layouts Wan users have: the official
// models_t5_umt5-xxl-enc-bf16.pth, the diffusers text_encoder/ folder and
// ComfyUI's umt5_xxl single files (both transformers UMT5EncoderModel names),
// including its scaled-fp8 ones (umt5_xxl_fp8_e4m3fn_scaled).
#pragma once
#include <string>

#include <ATen/ATen.h>

#include "models/t5/t5_encoder.h"
#include "models/weights/load_options.h"
#include "models/weights/tensor_map.h"

namespace wan {

// Builds the encoder the checkpoint describes (sizes read off its shapes) directly on
// options.device in options.dtype (scaled fp8 dequantised straight to it), loads it strictly,
// in eval mode. `what` names the checkpoint in errors.
T5Encoder load_t5_encoder(const TensorMap& checkpoint, const std::string& what, const LoadOptions& options = {});
// The same from a path read_t5_checkpoint accepts.
T5Encoder load_t5_encoder(const std::string& path, const LoadOptions& options = {});

// Reads the tensors of a .safetensors file, a sharded *.safetensors.index.json
// or a folder holding either (diffusers text_encoder/).
TensorMap read_t5_checkpoint(const std::string& path);

}  // namespace wan
