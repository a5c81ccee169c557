// kind "vae": WanVAE.encode of in.video (normalised latent and the encoder
// mean before normalisation), then the decode of out.latent, raw and clamped.
#include "models/vae/vae_config.h"
#include "models/vae/vae_loader.h"
#include "models/weights/safetensors.h"
#include "tests/parity/parity_case.h"

namespace {

void run(const wan::parity::ParityCase& c, wan::parity::ParityReport& report) {
  const wan::vae::VAEConfig config = wan::vae::vae_config_from_json(c.config());
  const std::string weights = c.file("weights").string();
  const wan::WanVAE vae(config, wan::load_safetensors(weights), c.device(), at::kFloat, weights);

  // Stored with a leading batch axis of 1.
  const at::Tensor video = c.tensor("in.video")[0];
  report.compare("out.latent", vae.encode(video).unsqueeze(0), c.tensor("out.latent"));
  report.compare("out.mu_unnormalized", vae.encode_unnormalized(video).unsqueeze(0), c.tensor("out.mu_unnormalized"));

  const at::Tensor latent = c.tensor("out.latent")[0];
  report.compare("out.video_raw", vae.decode_raw(latent).unsqueeze(0), c.tensor("out.video_raw"));
  report.compare("out.video", vae.decode(latent).unsqueeze(0), c.tensor("out.video"));
}

wan::parity::ParityKind reg("vae", run);

}  // namespace
