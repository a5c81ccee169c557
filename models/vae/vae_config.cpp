#include "models/vae/vae_config.h"

#include <string>

#include <nlohmann/json.hpp>

#include "models/common/error.h"
#include "models/common/json_integer.h"

namespace wan::vae {

void VAEConfig::validate() const {
  const auto bad = [](const std::string& what) { throw Error("VAE config: " + what); };
  if (dim <= 0 || z_dim <= 0 || num_res_blocks < 0) bad("dim and z_dim must be positive, num_res_blocks >= 0");
  // Far above the released VAEs (dim 96, z_dim 16; Wan2.2's 160 and 48), low enough that
  // no width product overflows; the weights must then match these sizes exactly.
  constexpr int64_t kMaxWidth = 4096, kMaxMult = 64, kMaxLevels = 8, kMaxBlocks = 64;
  if (dim > kMaxWidth || z_dim > kMaxWidth)
    bad("dim " + std::to_string(dim) + " / z_dim " + std::to_string(z_dim) + " above the limit of " +
        std::to_string(kMaxWidth));
  if (num_res_blocks > kMaxBlocks) bad("num_res_blocks above the limit of " + std::to_string(kMaxBlocks));
  if (dim_mult.size() < 2) bad("dim_mult needs at least 2 levels, got " + std::to_string(dim_mult.size()));
  if (dim_mult.size() > kMaxLevels) bad("dim_mult has more than " + std::to_string(kMaxLevels) + " levels");
  for (int64_t m : dim_mult)
    if (m <= 0 || m > kMaxMult) bad("dim_mult entries must be 1 to " + std::to_string(kMaxMult));
  if (temporal_downsample.size() != dim_mult.size() - 1)
    bad("temperal_downsample needs " + std::to_string(dim_mult.size() - 1) +
        " entries (one per dim_mult level but the last), got " + std::to_string(temporal_downsample.size()));
  if (latent_mean.size() != static_cast<size_t>(z_dim) || latent_std.size() != static_cast<size_t>(z_dim))
    bad("latent_mean and latent_std need z_dim = " + std::to_string(z_dim) + " entries, got " +
        std::to_string(latent_mean.size()) + " and " + std::to_string(latent_std.size()));
  for (double s : latent_std)
    if (!(s > 0)) bad("latent_std entries must be positive");
}

std::vector<std::pair<std::string, std::vector<int64_t>>> VAEConfig::parameter_shapes() const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  const auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    shapes.emplace_back(name, std::move(shape));
  };
  const auto conv3d = [&](const std::string& p, int64_t in, int64_t out, std::vector<int64_t> kernel) {
    std::vector<int64_t> w = {out, in};
    w.insert(w.end(), kernel.begin(), kernel.end());
    add(p + ".weight", std::move(w));
    add(p + ".bias", {out});
  };
  const auto residual = [&](const std::string& p, int64_t in, int64_t out) {
    add(p + ".residual.0.gamma", {in, 1, 1, 1});
    conv3d(p + ".residual.2", in, out, {3, 3, 3});
    add(p + ".residual.3.gamma", {out, 1, 1, 1});
    conv3d(p + ".residual.6", out, out, {3, 3, 3});
    if (in != out) conv3d(p + ".shortcut", in, out, {1, 1, 1});
  };
  const auto attention = [&](const std::string& p, int64_t c) {
    add(p + ".norm.gamma", {c, 1, 1});
    conv3d(p + ".to_qkv", c, 3 * c, {1, 1});
    conv3d(p + ".proj", c, c, {1, 1});
  };
  // Resample modes as in resample.cpp.
  const auto resample = [&](const std::string& p, int64_t c, bool up, bool time) {
    if (up && time) conv3d(p + ".time_conv", c, 2 * c, {3, 1, 1});
    if (!up && time) conv3d(p + ".time_conv", c, c, {3, 1, 1});
    conv3d(p + ".resample.1", c, up ? c / 2 : c, {3, 3});
  };
  const auto middle = [&](const std::string& p, int64_t c) {
    residual(p + ".middle.0", c, c);
    attention(p + ".middle.1", c);
    residual(p + ".middle.2", c, c);
  };
  const size_t levels = dim_mult.size();

  // Encoder3d.
  std::vector<int64_t> dims = {dim};
  for (int64_t m : dim_mult) dims.push_back(dim * m);
  conv3d("encoder.conv1", 3, dims[0], {3, 3, 3});
  int index = 0;
  double scale = 1.0;
  for (size_t i = 0; i < levels; ++i) {
    int64_t in = dims[i];
    const int64_t out = dims[i + 1];
    for (int64_t r = 0; r < num_res_blocks; ++r) {
      residual("encoder.downsamples." + std::to_string(index++), in, out);
      if (attends_at(scale)) attention("encoder.downsamples." + std::to_string(index++), out);
      in = out;
    }
    if (i + 1 < levels) {
      resample("encoder.downsamples." + std::to_string(index++), out, false, temporal_downsample[i]);
      scale /= 2.0;
    }
  }
  middle("encoder", dims.back());
  add("encoder.head.0.gamma", {dims.back(), 1, 1, 1});
  conv3d("encoder.head.2", dims.back(), 2 * z_dim, {3, 3, 3});

  conv3d("conv1", 2 * z_dim, 2 * z_dim, {1, 1, 1});
  conv3d("conv2", z_dim, z_dim, {1, 1, 1});

  // Decoder3d.
  dims = {dim * dim_mult.back()};
  for (auto m = dim_mult.rbegin(); m != dim_mult.rend(); ++m) dims.push_back(dim * *m);
  const std::vector<bool> upsample_time = temporal_upsample();
  conv3d("decoder.conv1", z_dim, dims[0], {3, 3, 3});
  middle("decoder", dims[0]);
  index = 0;
  scale = 1.0 / static_cast<double>(int64_t{1} << (levels - 2));
  for (size_t i = 0; i < levels; ++i) {
    int64_t in = i == 0 ? dims[i] : dims[i] / 2;
    const int64_t out = dims[i + 1];
    for (int64_t r = 0; r < num_res_blocks + 1; ++r) {
      residual("decoder.upsamples." + std::to_string(index++), in, out);
      if (attends_at(scale)) attention("decoder.upsamples." + std::to_string(index++), out);
      in = out;
    }
    if (i + 1 < levels) {
      resample("decoder.upsamples." + std::to_string(index++), out, true, upsample_time[i]);
      scale *= 2.0;
    }
  }
  add("decoder.head.0.gamma", {dims.back(), 1, 1, 1});
  conv3d("decoder.head.2", dims.back(), 3, {3, 3, 3});
  return shapes;
}

VAEConfig vae_config_from_json(const nlohmann::json& json) {
  const std::string origin = "VAE config";
  VAEConfig c;
  try {
    if (json.contains("dim")) c.dim = json_integer(json.at("dim"), origin, "dim");
    if (json.contains("base_dim")) c.dim = json_integer(json.at("base_dim"), origin, "base_dim");  // diffusers' name
    if (json.contains("z_dim")) c.z_dim = json_integer(json.at("z_dim"), origin, "z_dim");
    if (json.contains("dim_mult")) c.dim_mult = json_integers(json.at("dim_mult"), origin, "dim_mult");
    if (json.contains("num_res_blocks"))
      c.num_res_blocks = json_integer(json.at("num_res_blocks"), origin, "num_res_blocks");
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
