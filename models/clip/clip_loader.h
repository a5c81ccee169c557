// CLIP vision tower checkpoints: the official open-clip XLM-RoBERTa ViT-H/14
// .pth (whole CLIP: only visual.* is used), ComfyUI's clip_vision_h and the
// diffusers image_encoder/ folder (transformers CLIPVisionModel names).
#pragma once
#include <string>

#include <ATen/ATen.h>

#include "models/clip/clip_vision_encoder.h"
#include "models/weights/tensor_map.h"

namespace wan {

// The tower's tensors under official names (no "visual." prefix), scaled-fp8
// weights dequantised to float32. The text tower, the logit scale and the
// unused pooling head / final norm are dropped here, so they are never
// converted or put on a device.
TensorMap clip_vision_weights(const TensorMap& checkpoint, std::string* layout = nullptr);

// Builds the tower the checkpoint describes (sizes read off its shapes; the
// reference's 16 heads) directly on `device` in `dtype` and loads it strictly.
ClipVisionEncoder load_clip_vision_encoder(const TensorMap& checkpoint, const std::string& what,
                                           at::Device device = at::kCPU, at::ScalarType dtype = at::kFloat);

}  // namespace wan
