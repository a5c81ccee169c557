// CLIP vision tower checkpoints: the official open-clip XLM-RoBERTa ViT-H/14
// .pth (whole CLIP: only visual.* is used), ComfyUI's clip_vision_h and the
// diffusers image_encoder/ folder (transformers CLIPVisionModel names).
#pragma once
#include <string>

#include <ATen/ATen.h>

#include "models/clip/clip_vision_encoder.h"
#include "models/weights/load_options.h"
#include "models/weights/tensor_map.h"

namespace wan {

// Builds the tower the checkpoint describes (sizes read off its shapes; the reference's 16
// heads) directly on options.device in options.dtype and loads it strictly (model_weights.h:
// the text tower, the logit scale and the unused pooling head / final norm are dropped before
// anything is converted or put on a device). `what` names the checkpoint in errors.
ClipVisionEncoder load_clip_vision_encoder(const TensorMap& checkpoint, const std::string& what,
                                           const LoadOptions& options = {});
// The same from a file (see load_checkpoint_file).
ClipVisionEncoder load_clip_vision_encoder(const std::string& path, const LoadOptions& options = {});

}  // namespace wan
