#include "models/clip/clip_loader.h"

#include <set>

#include <c10/core/GradMode.h>

#include "models/common/error.h"
#include "models/weights/checkpoint_layout.h"
#include "models/weights/scaled_fp8.h"
#include "models/weights/state_dict.h"

namespace wan {

namespace {

// Parameters of the reference tower that Wan's features never reach.
const std::set<std::string>& unused_tower_tensors() {
  static const std::set<std::string> names = {"head", "post_norm.weight", "post_norm.bias",
                                              "vision_model.embeddings.position_ids"};
  return names;
}

}  // namespace

TensorMap clip_vision_weights(const TensorMap& checkpoint, std::string* layout) {
  const std::string visual = "visual.";
  TensorMap tower;
  bool open_clip = false;
  for (const auto& [name, t] : checkpoint)
    if (name.rfind(visual, 0) == 0) open_clip = true;
  for (const auto& [name, t] : checkpoint) {
    if (open_clip && name.rfind(visual, 0) != 0) continue;  // textual.*, log_scale
    tower.emplace(open_clip ? name.substr(visual.size()) : name, t);
  }
  dequantize_scaled_fp8(tower, "CLIP checkpoint");
  for (const auto& name : unused_tower_tensors()) tower.erase(name);
  TensorMap official = to_official_names(ModelFamily::CLIP, std::move(tower), layout);
  for (const auto& name : unused_tower_tensors()) official.erase(name);
  return official;
}

ClipVisionEncoder load_clip_vision_encoder(const TensorMap& checkpoint, const std::string& what, at::Device device,
                                           at::ScalarType dtype) {
  std::string layout;
  const TensorMap weights = clip_vision_weights(checkpoint, &layout);
  c10::AutoGradMode no_grad(false);
  VisionTransformer tower(ClipVisionConfig::from_weights(weights), at::TensorOptions().device(device).dtype(dtype),
                          ParameterInit::Uninitialized);
  load_state_dict(*tower, weights, what + " (" + layout + " layout)");
  return ClipVisionEncoder(tower, device, dtype);
}

}  // namespace wan
