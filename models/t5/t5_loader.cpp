#include "models/t5/t5_loader.h"

#include <filesystem>

#include <c10/core/GradMode.h>

#include "models/common/error.h"
#include "models/weights/checkpoint_file.h"
#include "models/weights/checkpoint_layout.h"
#include "models/weights/safetensors.h"
#include "models/weights/scaled_fp8.h"
#include "models/weights/state_dict.h"

namespace wan {

namespace fs = std::filesystem;

TensorMap t5_official_weights(TensorMap checkpoint, std::string* layout, at::ScalarType dequantized_dtype) {
  // transformers ties encoder.embed_tokens to shared: the same table twice
  // (dropped with its fp8 scales before anything dequantises it).
  if (checkpoint.count("shared.weight"))
    for (const char* tied : {"weight", "scale_weight", "scale_input"})
      checkpoint.erase(std::string("encoder.embed_tokens.") + tied);
  // ComfyUI may embed the tokenizer model as a byte tensor.
  checkpoint.erase("spiece_model");
  dequantize_scaled_fp8(checkpoint, "umT5 checkpoint", dequantized_dtype);
  return to_official_names(ModelFamily::T5, std::move(checkpoint), layout);
}

T5Encoder load_t5_encoder(const TensorMap& checkpoint, const std::string& what, at::Device device,
                          at::ScalarType dtype) {
  std::string layout;
  const TensorMap weights = t5_official_weights(checkpoint, &layout, dtype);
  c10::AutoGradMode no_grad(false);
  T5Encoder model(T5Config::from_weights(weights), at::TensorOptions().device(device).dtype(dtype),
                  ParameterInit::Uninitialized);
  load_state_dict(*model, weights, what + " (" + layout + " layout)");
  model->eval();
  return model;
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
