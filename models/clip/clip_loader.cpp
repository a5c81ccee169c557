#include "models/clip/clip_loader.h"

#include <c10/core/GradMode.h>

#include "models/weights/checkpoint_file.h"
#include "models/weights/model_weights.h"
#include "models/weights/state_dict.h"

namespace wan {

ClipVisionEncoder load_clip_vision_encoder(const TensorMap& checkpoint, const std::string& what,
                                           const LoadOptions& options) {
  const ModelWeights weights = prepare_weights(ModelFamily::CLIP, checkpoint, what, options);
  c10::AutoGradMode no_grad(false);
  VisionTransformer tower(ClipVisionConfig::from_weights(weights.tensors),
                          at::TensorOptions().device(options.device).dtype(options.dtype),
                          ParameterInit::Uninitialized);
  load_state_dict(*tower, weights.tensors, weights.what);
  return ClipVisionEncoder(tower, options.device, options.dtype);
}

ClipVisionEncoder load_clip_vision_encoder(const std::string& path, const LoadOptions& options) {
  return load_clip_vision_encoder(load_checkpoint_file(path), path, options);
}

}  // namespace wan
