#include "models/vae/vae_config.h"

#include <string>

#include <nlohmann/json.hpp>

#include "models/common/error.h"

namespace wan::vae {

void VAEConfig::validate() const {
  const auto bad = [](const std::string& what) { throw Error("VAE config: " + what); };
  if (dim <= 0 || z_dim <= 0 || num_res_blocks < 0) bad("dim and z_dim must be positive, num_res_blocks >= 0");
  if (dim_mult.size() < 2) bad("dim_mult needs at least 2 levels, got " + std::to_string(dim_mult.size()));
  for (int64_t m : dim_mult)
    if (m <= 0) bad("dim_mult entries must be positive");
  if (temporal_downsample.size() != dim_mult.size() - 1)
    bad("temperal_downsample needs " + std::to_string(dim_mult.size() - 1) +
        " entries (one per dim_mult level but the last), got " + std::to_string(temporal_downsample.size()));
  if (latent_mean.size() != static_cast<size_t>(z_dim) || latent_std.size() != static_cast<size_t>(z_dim))
    bad("latent_mean and latent_std need z_dim = " + std::to_string(z_dim) + " entries, got " +
        std::to_string(latent_mean.size()) + " and " + std::to_string(latent_std.size()));
  for (double s : latent_std)
    if (!(s > 0)) bad("latent_std entries must be positive");
}

VAEConfig vae_config_from_json(const nlohmann::json& json) {
  VAEConfig c;
  try {
    if (json.contains("dim")) c.dim = json.at("dim").get<int64_t>();
    if (json.contains("base_dim")) c.dim = json.at("base_dim").get<int64_t>();  // diffusers' name
    if (json.contains("z_dim")) c.z_dim = json.at("z_dim").get<int64_t>();
    if (json.contains("dim_mult")) c.dim_mult = json.at("dim_mult").get<std::vector<int64_t>>();
    if (json.contains("num_res_blocks")) c.num_res_blocks = json.at("num_res_blocks").get<int64_t>();
    if (json.contains("attn_scales")) c.attn_scales = json.at("attn_scales").get<std::vector<double>>();
    if (json.contains("temperal_downsample"))
      c.temporal_downsample = json.at("temperal_downsample").get<std::vector<bool>>();
    if (json.contains("latent_mean")) c.latent_mean = json.at("latent_mean").get<std::vector<double>>();
    if (json.contains("latent_std")) c.latent_std = json.at("latent_std").get<std::vector<double>>();
    if (json.contains("latents_mean")) c.latent_mean = json.at("latents_mean").get<std::vector<double>>();  // diffusers
    if (json.contains("latents_std")) c.latent_std = json.at("latents_std").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("VAE config: ") + e.what());
  }
  c.validate();
  return c;
}

}  // namespace wan::vae
