#include "models/t5/t5_loader.h"

#include <filesystem>

#include <c10/core/GradMode.h>

#include "models/common/error.h"
#include "models/weights/checkpoint_file.h"
#include "models/weights/model_weights.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"

namespace wan {

namespace fs = std::filesystem;

T5Encoder load_t5_encoder(const TensorMap& checkpoint, const std::string& what, const LoadOptions& options) {
  const ModelWeights weights = prepare_weights(ModelFamily::T5, checkpoint, what, options);
  c10::AutoGradMode no_grad(false);
  T5Encoder model(T5Config::from_weights(weights.tensors),
                  at::TensorOptions().device(options.device).dtype(options.dtype), ParameterInit::Uninitialized);
  load_state_dict(*model, weights.tensors, weights.what);
  model->eval();
  return model;
}

T5Encoder load_t5_encoder(const std::string& path, const LoadOptions& options) {
  return load_t5_encoder(read_t5_checkpoint(path), path, options);
}

TensorMap read_t5_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const char* name : {"model.safetensors.index.json", "model.safetensors"}) {
      const fs::path candidate = fs::path(path) / name;
      if (fs::is_regular_file(candidate, ec)) return load_safetensors(candidate.string());
    }
    throw Error("umT5 folder " + path + " has neither model.safetensors nor model.safetensors.index.json");
  }
  if (!fs::is_regular_file(path, ec)) throw Error("umT5 checkpoint not found: " + path);
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".safetensors" || ext == ".json") return load_safetensors(path);
  // The official models_t5_umt5-xxl-enc-bf16.pth (torch.save).
  if (ext == ".pth" || ext == ".pt" || ext == ".bin") return load_checkpoint_file(path);
  throw Error("umT5 checkpoint " + path + ": unsupported file type '" + ext +
              "' (expected .pth, .safetensors, a *.safetensors.index.json or a folder)");
}

}  // namespace wan
