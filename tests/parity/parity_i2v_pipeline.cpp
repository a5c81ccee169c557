// kind "i2v-pipeline": the image-to-video generation of the pipeline library
// step by step (image tensor, resize, CLIP, VAE conditioning, guided UniPC /
// DPM++ loop, decode) on the case's tiny DiT, VAE and CLIP tower, with the
// stored text contexts in place of umT5. The models run on the case's device in float32.
// Kinds "pipeline-teacache" and "pipeline-magcache": the same with step caching, plus which
// forwards ran their blocks (out.computed).
#include <c10/core/GradMode.h>

#include "models/clip/clip_loader.h"
#include "models/common/error.h"
#include "models/dit/dit_config.h"
#include "models/dit/wan_model.h"
#include "models/vae/wan_vae.h"
#include "models/weights/model_weights.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "pipeline/denoise_loop.h"
#include "pipeline/image_conditioning.h"
#include "pipeline/names.h"
#include "pipeline/seeded_noise.h"
#include "pipeline/step_cache.h"
#include "pipeline/video_geometry.h"
#include "tests/parity/parity_case.h"

namespace wan::parity {
namespace {

RgbImage image_from_tensor(const at::Tensor& hwc) {
  const at::Tensor u8 = hwc.to(at::kCPU, at::kByte).contiguous();  // its bytes are read on the host
  RgbImage image;
  image.height = static_cast<int>(u8.size(0));
  image.width = static_cast<int>(u8.size(1));
  image.pixels.assign(u8.data_ptr<uint8_t>(), u8.data_ptr<uint8_t>() + u8.numel());
  return image;
}

void run_pipeline(const ParityCase& c, ParityReport& report, const StepCacheSettings& cache_settings = {},
                  CacheModel cache_model = CacheModel::I2V_480P) {
  c10::AutoGradMode no_grad(false);
  const auto& args = c.args();
  const auto& config = c.config();

  const at::Device device = c.device();
  const auto on_device = at::TensorOptions().device(device).dtype(at::kFloat);
  const DiTConfig dit_config = DiTConfig::from_json_text(config.at("dit").dump(), c.file("config").string());
  WanModel dit(dit_config, on_device, ParameterInit::Uninitialized);
  load_state_dict(*dit, load_safetensors(c.file("dit_weights").string()), c.file("dit_weights").string());
  dit->eval();
  const WanVAE vae(vae::vae_config_from_json(config.at("vae")), load_safetensors(c.file("vae_weights").string()),
                   device, at::kFloat, c.file("vae_weights").string());
  const ClipVisionConfig clip_config = ClipVisionConfig::from_json(config.at("clip"));
  VisionTransformer tower(clip_config, on_device, ParameterInit::Uninitialized);
  load_state_dict(
      *tower, prepare_weights(ModelFamily::CLIP, load_safetensors(c.file("clip_weights").string()), "clip", {}).tensors,
      c.file("clip_weights").string());
  tower->eval();
  ClipVisionEncoder clip(tower, device, at::kFloat);

  // 1-2. image tensor and size
  const RgbImage image = image_from_tensor(c.tensor("in.image"));
  const at::Tensor img = image_to_tensor(image);
  report.compare("out.img", img, c.tensor("out.img"));
  const int frame_num = args.at("frame_num").get<int>();
  const VideoGeometry g = geometry_from_area(args.at("max_area").get<int64_t>(),
                                             static_cast<double>(image.height) / image.width, frame_num);
  const bool size_ok = g.lat_h == args.at("lat_h").get<int64_t>() && g.lat_w == args.at("lat_w").get<int64_t>() &&
                       g.seq_len == args.at("max_seq_len").get<int64_t>() &&
                       g.latent_frames == args.at("latent_frames").get<int64_t>();
  report.check("size (lat_h, lat_w, seq_len)", size_ok,
               std::to_string(g.lat_h) + "x" + std::to_string(g.lat_w) + ", " + std::to_string(g.seq_len) + " tokens");

  // 3. noise from the seed
  const at::Tensor noise = c.tensor("in.noise");
  report.compare("in.noise (randn from seed)", seeded_randn(noise.sizes(), args.at("seed").get<uint64_t>(), at::kCPU),
                 noise);

  // 5-6. CLIP on the original image, VAE conditioning
  report.compare("out.img_resized", resize_bicubic(img, g.height, g.width), c.tensor("out.img_resized"));
  report.compare("out.clip_preprocessed", clip_preprocess({img.unsqueeze(1)}, clip_config),
                 c.tensor("out.clip_preprocessed"));
  DiTConditioning cond;
  cond.clip_fea = clip.encode_video({img.unsqueeze(1)});
  report.compare("out.clip_context", cond.clip_fea, c.tensor("out.clip_context"));
  cond.y = image_condition(vae, img, std::nullopt, g);
  report.compare("out.y", cond.y, c.tensor("out.y"));
  cond.context = c.tensor("in.context");
  cond.context_null = c.tensor("in.context_null");
  cond.seq_len = g.seq_len;

  // 7. the guided loop
  auto scheduler = make_flow_scheduler(parse_solver(args.at("sample_solver").get<std::string>()));
  scheduler->set_timesteps(args.at("sampling_steps").get<int>(), args.at("shift").get<double>());
  report.compare("out.timesteps", scheduler->timesteps(), c.tensor("out.timesteps"));
  report.compare("out.sigmas", scheduler->sigmas(), c.tensor("out.sigmas"));
  std::vector<at::Tensor> conds, unconds, latents;
  DenoiseOptions options;
  options.guidance_scale = args.at("guide_scale").get<double>();
  options.both_branches = true;  // the reference runs both at every scale
  options.on_step = [&](const DenoiseStep& s) {
    conds.push_back(s.prediction->cond);
    unconds.push_back(s.prediction->uncond);
    latents.push_back(s.latent);
  };
  std::optional<StepCache> cache;
  if (cache_settings.method != CacheMethod::None) cache.emplace(cache_settings, cache_model, scheduler->num_steps());
  WanDenoiser denoiser(*dit, /*batch_branches=*/false, {}, cache ? &*cache : nullptr);
  const at::Tensor latent = denoise(denoiser, *scheduler, noise, cond, options);
  if (cache) {
    std::vector<int64_t> computed(cache->computed().begin(), cache->computed().end());
    report.compare("out.computed", at::tensor(computed, at::kLong), c.tensor("out.computed").to(at::kCPU));
  }
  report.compare("out.noise_pred_cond", at::stack(conds), c.tensor("out.noise_pred_cond"));
  report.compare("out.noise_pred_uncond", at::stack(unconds), c.tensor("out.noise_pred_uncond"));
  report.compare("out.latents", at::stack(latents), c.tensor("out.latents"));

  // 8. decode
  report.compare("out.video", vae.decode(latent), c.tensor("out.video"));
}

void run(const ParityCase& c, ParityReport& report) { run_pipeline(c, report); }

// The caching script's arguments (case.json -> cache.script_args) as our settings; one left
// out takes the script's own default (its argparse defaults, not ours).
StepCacheSettings cache_settings(const ParityCase& c, CacheMethod method) {
  const auto& a = c.meta().at("cache").at("script_args");
  StepCacheSettings s;
  s.method = method;
  if (method == CacheMethod::TeaCache) {
    s.threshold = a.value("thresh", 0.2);
    s.teacache_ret_steps = a.value("use_ret_steps", false);
  }
  if (method == CacheMethod::MagCache) {
    s.threshold = a.value("thresh", 0.12);
    s.max_skips = a.value("K", 2);
    s.retention_ratio = a.value("retention_ratio", 0.2);
  }
  return s;
}

// The scripts pick their calibration by the checkpoint folder's name, as here (the pipeline
// picks it by model and output size instead).
CacheModel cache_model(const ParityCase& c) {
  const std::string ckpt = c.meta().at("cache").at("script_args").value("ckpt_dir", "");
  if (ckpt.find("480P") != std::string::npos) return CacheModel::I2V_480P;
  if (ckpt.find("720P") != std::string::npos) return CacheModel::I2V_720P;
  if (ckpt.find("1.3B") != std::string::npos) return CacheModel::T2V_1_3B;
  if (ckpt.find("14B") != std::string::npos) return CacheModel::T2V_14B;
  throw Error("cache.script_args.ckpt_dir '" + ckpt + "' names no calibrated model (480P, 720P, 1.3B, 14B)");
}

void run_teacache(const ParityCase& c, ParityReport& report) {
  run_pipeline(c, report, cache_settings(c, CacheMethod::TeaCache), cache_model(c));
}
void run_magcache(const ParityCase& c, ParityReport& report) {
  run_pipeline(c, report, cache_settings(c, CacheMethod::MagCache), cache_model(c));
}

ParityKind reg("i2v-pipeline", run);
ParityKind reg_teacache("pipeline-teacache", run_teacache);
ParityKind reg_magcache("pipeline-magcache", run_magcache);

}  // namespace
}  // namespace wan::parity
