// kind "causal": Self-Forcing's chunk-wise autoregressive t2v generation with a KV cache
// (CausalGenerator on the case's DiT), replaying the stored noise draws.
#include <c10/core/GradMode.h>

#include "models/common/error.h"
#include "models/dit/dit_config.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "pipeline/causal_generator.h"
#include "tests/parity/parity_case.h"

namespace wan::parity {
namespace {

WanModel build_causal_dit(const ParityCase& c) {
  // CausalWanModel's arguments are WanModel's plus the attention window, which the
  // generator's settings carry.
  nlohmann::json dit = c.config().at("dit");
  for (const char* key : {"_class_name", "local_attn_size", "sink_size"}) dit.erase(key);
  const DiTConfig config = DiTConfig::from_json_text(dit.dump(), c.file("config").string());
  WanModel model(config, at::TensorOptions().device(c.device()).dtype(c.dtype()), ParameterInit::Uninitialized);
  load_state_dict(*model, load_safetensors(c.file("dit_weights").string()), c.file("dit_weights").string());
  model->eval();
  return model;
}

CausalSettings case_settings(const ParityCase& c) {
  const nlohmann::json& p = c.config().at("pipeline");
  CausalSettings s;
  s.warp_denoising_steps = p.at("warp_denoising_step").get<bool>();
  s.denoising_steps = p.at("denoising_step_list").get<std::vector<int>>();
  s.timestep_shift = p.at("model_kwargs").at("timestep_shift").get<double>();
  s.frames_per_chunk = p.at("num_frame_per_block").get<int64_t>();
  s.independent_first_frame = p.at("independent_first_frame").get<bool>();
  s.context_noise = p.at("context_noise").get<double>();
  s.local_attn_size = c.config().at("dit").at("local_attn_size").get<int64_t>();
  s.sink_size = c.config().at("dit").at("sink_size").get<int64_t>();
  return s;
}

void run(const ParityCase& c, ParityReport& report) {
  // The pipeline's latents are [B, F, C, H, W]; the generator's [C, F, H, W].
  const at::Tensor noise = c.tensor("in.noise")[0].permute({1, 0, 2, 3}).contiguous();
  const at::Tensor renoise = c.tensor("in.renoise").permute({0, 2, 1, 3, 4}).contiguous();
  CausalGenerator generator(build_causal_dit(c), case_settings(c), noise.size(2), noise.size(3));
  generator.set_context(c.tensor("in.context")[0]);
  report.compare("out.timesteps", generator.timesteps(), c.tensor("out.timesteps"));
  // Warped: float32 timesteps; unwarped: the int64 steps themselves.
  const at::Tensor timesteps = generator.timesteps().cpu();
  report.check("out.timesteps (exact)",
               timesteps.equal(c.tensor("out.timesteps").cpu().to(timesteps.scalar_type())),
               "the timesteps must match bit for bit");

  std::vector<at::Tensor> x0_steps;
  generator.on_step = [&](const CausalChunk& chunk, int, const at::Tensor& x0) {
    if (chunk.index == 0) x0_steps.push_back(x0.permute({1, 0, 2, 3}).unsqueeze(0).cpu());
  };
  const int64_t kv_chunk = c.args().at("kv_after_chunk").get<int64_t>();
  at::Tensor kv_k0, kv_v0;
  ReplayedCausalNoise draws(noise, renoise);
  const at::Tensor latents = generator.generate(noise.size(1), draws, [&](const CausalChunk& chunk) {
    if (chunk.index != kv_chunk) return;
    kv_k0 = generator.cache().blocks[0].self_kv.keys().cpu().clone();
    kv_v0 = generator.cache().blocks[0].self_kv.values().cpu().clone();
  });
  report.compare("out.x0_steps", at::stack(x0_steps), c.tensor("out.x0_steps"));
  report.compare("out.latents", latents.permute({1, 0, 2, 3}).unsqueeze(0), c.tensor("out.latents"));
  report.check("kv cache captured", kv_k0.defined(), "no chunk " + std::to_string(kv_chunk));
  if (kv_k0.defined()) {
    report.compare("out.kv_k0", kv_k0, c.tensor("out.kv_k0"));
    report.compare("out.kv_v0", kv_v0, c.tensor("out.kv_v0"));
  }
}

ParityKind reg("causal", run);

}  // namespace
}  // namespace wan::parity
