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

std::string shape_text(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Every tensor the network at `config` needs, present with its exact shape, checked before
// the network is built: its sizes come from two tensors of the file, and a wide conv1 in a
// small file would otherwise allocate dim^2-sized layers first.
void check_shapes(const vae::VAEConfig& config, const TensorMap& weights, const std::string& what) {
  const std::string implied = "a VAE of dim " + std::to_string(config.dim) + " and z_dim " +
                              std::to_string(config.z_dim) + " (read off encoder.conv1.weight and conv2.weight)";
  for (const auto& [name, shape] : config.parameter_shapes()) {
    const auto it = weights.find(name);
    if (it == weights.end()) throw Error(what + " lacks " + name + ", which " + implied + " has");
    if (it->second.sizes() != at::IntArrayRef(shape))
      throw Error(what + ": " + name + " has shape " + shape_text(it->second.sizes()) + ", expected " +
                  shape_text(shape) + " for " + implied);
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
  try {
    config.validate();
  } catch (const Error& e) {
    throw Error(prepared.what + ": " + e.what());
  }
  check_shapes(config, weights, prepared.what);
  return WanVAE(config, weights, options.device, options.dtype, prepared.what);
}

WanVAE load_vae(const std::string& path, const LoadOptions& options) {
  return load_vae(load_checkpoint_file(path), config_beside(path), path, options);
}

}  // namespace wan
