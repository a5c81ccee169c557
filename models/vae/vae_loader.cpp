#include "models/vae/vae_loader.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "models/common/error.h"
#include "models/weights/checkpoint_file.h"
#include "models/weights/model_weights.h"

namespace wan {

namespace {

// diffusers keeps the VAE's hyper-parameters in a config.json beside the weights.
vae::VAEConfig config_beside(const std::string& path) {
  const auto config_path = std::filesystem::path(path).parent_path() / "config.json";
  std::ifstream in(config_path);
  if (!in) return vae::VAEConfig{};
  try {
    const nlohmann::json json = nlohmann::json::parse(in);
    // The folder may hold another model's config (the DiT's, beside Wan2.1_VAE.pth).
    if (!json.is_object() || json.value("_class_name", std::string()) != "AutoencoderKLWan") return vae::VAEConfig{};
    return vae::vae_config_from_json(json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(config_path.string() + ": " + e.what());
  }
}

}  // namespace

WanVAE load_vae(TensorMap checkpoint, const vae::VAEConfig& base_config, const std::string& what,
                const LoadOptions& options) {
  const ModelWeights prepared = prepare_weights(ModelFamily::VAE, std::move(checkpoint), what, options);
  const TensorMap& weights = prepared.tensors;
  const auto input_conv = weights.find("encoder.conv1.weight");
  const auto post_quant_conv = weights.find("conv2.weight");
  if (input_conv == weights.end() || post_quant_conv == weights.end() || input_conv->second.dim() != 5 ||
      post_quant_conv->second.dim() != 5)
    throw Error(prepared.what + " is not a Wan2.1 VAE checkpoint: it lacks 5-D encoder.conv1.weight / conv2.weight");
  vae::VAEConfig config = base_config;
  config.dim = input_conv->second.size(0);
  config.z_dim = post_quant_conv->second.size(0);
  return WanVAE(config, weights, options.device, options.dtype, prepared.what);
}

WanVAE load_vae(const std::string& path, const LoadOptions& options) {
  return load_vae(load_checkpoint_file(path), config_beside(path), path, options);
}

}  // namespace wan
