// Hyper-parameters of the Wan VAE (WanVAE_'s constructor arguments) and the
// per-channel latent statistics of the WanVAE wrapper.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace wan::vae {

struct VAEConfig {
  int64_t dim = 96;  // base width; the released checkpoint uses 96
  int64_t z_dim = 16;
  std::vector<int64_t> dim_mult = {1, 2, 4, 4};
  int64_t num_res_blocks = 2;
  std::vector<double> attn_scales = {};
  std::vector<bool> temporal_downsample = {false, true, true};  // per level but the last
  // Encoder means are normalised as (mu - latent_mean) / latent_std.
  std::vector<double> latent_mean = {-0.7571, -0.7089, -0.9113, 0.1075,  -0.1745, 0.9653,  -0.1517, 1.5508,
                                     0.4134,  -0.0715, 0.5517,  -0.3632, -0.1922, -0.9497, 0.2503,  -0.2921};
  std::vector<double> latent_std = {2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                                    3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160};

  // Video pixels per latent pixel, and video frames per latent frame after the first.
  int64_t spatial_scale() const { return int64_t{1} << (dim_mult.size() - 1); }
  int64_t temporal_scale() const {
    return int64_t{1} << std::count(temporal_downsample.begin(), temporal_downsample.end(), true);
  }

  // The levels that halve (encoder) / double (decoder) the frame count.
  std::vector<bool> temporal_upsample() const { return {temporal_downsample.rbegin(), temporal_downsample.rend()}; }

  // Whether the blocks working at `scale` (resolution relative to the video) have attention.
  bool attends_at(double scale) const {
    for (double s : attn_scales)
      if (s == scale) return true;
    return false;
  }

  // Throws wan::Error when the sizes are inconsistent or beyond any real VAE's.
  void validate() const;

  // Every parameter of the network at this config (official names) with its
  // shape, in construction order: what a checkpoint must hold, known before
  // anything of that size is allocated. Mirrors Encoder3d / Decoder3d.
  std::vector<std::pair<std::string, std::vector<int64_t>>> parameter_shapes() const;
};

// Reads a config.json holding WanVAE_'s arguments (dim, z_dim, dim_mult,
// num_res_blocks, attn_scales, temperal_downsample) and optionally
// latent_mean / latent_std; absent keys keep the released values. Also reads
// diffusers' AutoencoderKLWan config (base_dim, latents_mean, latents_std).
VAEConfig vae_config_from_json(const nlohmann::json& json);

}  // namespace wan::vae
