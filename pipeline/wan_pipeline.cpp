#include "pipeline/wan_pipeline.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <ATen/Context.h>
#include <c10/core/GradMode.h>

#include "models/clip/clip_loader.h"
#include "models/common/error.h"
#include "models/dit/dit_loader.h"
#include "models/dit/lora_adapters.h"
#include "models/vae/vae_loader.h"
#include "pipeline/checkpoint_folder.h"
#include "pipeline/default_prompts.h"
#include "pipeline/device_name.h"
#include "pipeline/device_visit.h"
#include "pipeline/flow_step_distill.h"
#include "pipeline/image_conditioning.h"
#include "pipeline/model_family.h"
#include "pipeline/names.h"
#include "pipeline/seeded_noise.h"
#include "pipeline/step_cache.h"
#include "pipeline/video_frames.h"

namespace wan {
namespace {

// "auto" is the released precision on GPUs (bf16), float32 on the CPU.
at::ScalarType parse_dtype(const std::string& name, const at::Device& device) {
  if (name == "auto" || name.empty()) return device.is_cpu() ? at::kFloat : at::kBFloat16;
  if (name == "float32" || name == "fp32" || name == "float") return at::kFloat;
  if (name == "bfloat16" || name == "bf16") return at::kBFloat16;
  if (name == "float16" || name == "fp16" || name == "half") return at::kHalf;
  throw Error("dtype '" + name + "' is not supported (expected auto, float32, bfloat16, float16 or fp8)");
}

// The DiT's self-attention: "exact" (or unset), "fp8" or "int8".
SelfAttentionKind parse_self_attention(const std::string& name) {
  if (name.empty()) return SelfAttentionKind::exact;
  for (const auto kind : {SelfAttentionKind::exact, SelfAttentionKind::fp8, SelfAttentionKind::int8})
    if (name == self_attention_name(kind)) return kind;
  throw Error("attention '" + name + "' is not supported (expected exact, fp8 or int8)");
}

void check_task(Task checkpoint, const Request& r) {
  const Task asked = r.task();
  if (asked == checkpoint) return;
  switch (checkpoint) {
    case Task::TextToVideo:
      throw Error("invalid request: image: this is a text-to-video checkpoint; it takes no image");
    case Task::ImageToVideo:
      throw Error(r.image ? "invalid request: last_image: this is an image-to-video checkpoint; it takes no last frame"
                          : "invalid request: image: this image-to-video checkpoint needs an input image");
    case Task::FirstLastFrameToVideo:
      throw Error(std::string("invalid request: ") + (r.image ? "last_image" : "image") +
                  ": this first-last-frame checkpoint needs both a first and a last frame");
  }
}

// What distinguishes DiTs with LoRAs in the registry: merged LoRAs by file and strength,
// run-time LoRAs by file only (strengths are set per generation).
std::string lora_key(const std::vector<LoraSpec>& loras, LoraMode mode) {
  if (loras.empty()) return "";
  std::string key = mode == LoraMode::Merge ? "|merged:" : "|runtime:";
  for (const auto& l : loras) {
    std::error_code ec;
    const auto canonical = std::filesystem::weakly_canonical(l.path, ec);
    char strength[32];
    std::snprintf(strength, sizeof strength, "@%.17g", l.strength);  // exactly: models differ at any digit
    key += (ec ? l.path : canonical.string()) + (mode == LoraMode::Merge ? strength : "") + ";";
  }
  return key;
}

// Whether a model carrying `have` serves `want`: the same files in the same order, and the
// same strengths unless they are set at run time.
bool serves(const std::vector<LoraSpec>& have, const std::vector<LoraSpec>& want, bool runtime) {
  if (have.size() != want.size()) return false;
  for (size_t i = 0; i < have.size(); ++i)
    if (have[i].path != want[i].path || (!runtime && have[i].strength != want[i].strength)) return false;
  return true;
}

template <class Model>
std::unique_lock<std::mutex> use(const std::shared_ptr<SharedModel<Model>>& m) {
  return std::unique_lock<std::mutex>(m->in_use);
}

}  // namespace

TextEncoderOptions text_encoder_options(const CheckpointFiles& files, int64_t text_len, const ModelPlacement& placement,
                                        const std::string& cache_dir) {
  TextEncoderOptions o;
  o.checkpoint = files.t5;
  o.tokenizer = files.tokenizer;
  o.text_len = text_len;
  o.device = placement.text_device;
  o.dtype = placement.text_dtype;
  o.cache_dir = cache_dir;
  return o;
}

std::shared_ptr<SharedModel<std::shared_ptr<TextEncoder>>> shared_text_encoder(const TextEncoderOptions& options) {
  return ModelRegistry::instance().get<std::shared_ptr<TextEncoder>>(
      "umt5", options.checkpoint, options.device, options.dtype,
      [&] {
        auto encoder = std::make_shared<TextEncoder>(options);
        encoder->load();  // now, not in the first request
        return encoder;
      },
      "cache=" + options.cache_dir);
}

ModelPlacement resolve_placement(const PipelineOptions& o) {
  ModelPlacement p;
  p.device = parse_device(o.device, "device");
  // fp8: the released precisions, with the DiT's block linear layers in e4m3.
  p.dit_fp8 = o.dtype == "fp8";
  const at::ScalarType dtype = parse_dtype(p.dit_fp8 ? "bfloat16" : o.dtype, p.device);
  p.dit_dtype = dtype;
  p.dit_attention = parse_self_attention(o.attention);
  p.text_dtype = dtype;
  // The reference runs its CLIP tower in float16 on GPUs.
  p.clip_dtype = ((o.dtype == "auto" || p.dit_fp8) && !p.device.is_cpu()) ? at::kHalf : dtype;
  p.text_device = o.text_encoder_device.empty() ? p.device : parse_device(o.text_encoder_device, "text_encoder_device");
  p.dit_home = p.device;
  p.clip_home = p.device;
  p.noise_device = o.noise_device.empty() ? p.device : parse_device(o.noise_device, "noise_device");
  switch (o.memory_mode) {
    case MemoryMode::Resident: break;
    case MemoryMode::TextEncoderCpu: p.text_device = at::kCPU; break;
    case MemoryMode::Sequential:
      p.dit_home = at::kCPU;
      p.clip_home = at::kCPU;
      p.text_encoder_per_request = true;
      break;
    case MemoryMode::BlockSwap:
      p.dit_block_swap = true;
      // CLIP (1.2 GiB in fp16) would sit through the VAE decode, the mode's peak.
      p.clip_home = at::kCPU;
      // umT5 (10.6 GiB in bf16) would outweigh the streamed DiT. On the CPU it costs no device
      // memory and, loaded once, seconds per new prompt; Sequential's per-request umT5 would
      // rebuild it for every request (over half a minute). An explicit text_encoder_device wins.
      if (o.text_encoder_device.empty()) p.text_device = at::kCPU;
      break;
  }
  // Two samples in one forward cost activations only; worth it on a GPU with the models
  // resident. Block swap hides its copies behind one sample's blocks already, and the second
  // sample's activations are what it has to save.
  p.batch_guidance =
      !p.device.is_cpu() && o.memory_mode != MemoryMode::Sequential && o.memory_mode != MemoryMode::BlockSwap;
  return p;
}

LoadOptions dit_load_options(const ModelPlacement& placement, const at::Device& home) {
  LoadOptions load(home, placement.dit_dtype);
  load.compute_device = placement.device;
  load.fp8_linear = placement.dit_fp8;
  load.self_attention = placement.dit_attention;
  return load;
}

std::string dit_variant_key(const ModelPlacement& placement) {
  const std::string attention = placement.dit_attention == SelfAttentionKind::exact
                                    ? ""
                                    : std::string("|") + self_attention_name(placement.dit_attention) + "-attention";
  return std::string(placement.dit_fp8 ? "|fp8" : "") + attention;
}

WanPipeline::WanPipeline(const PipelineOptions& options, const std::function<void(const Progress&)>& on_progress)
    : options_(options), placement_(resolve_placement(options)) {
  c10::AutoGradMode no_grad(false);
  const auto start = std::chrono::steady_clock::now();
  int loaded = 0;
  const int total = 4;
  auto progress = [&] {
    ++loaded;
    if (on_progress)
      on_progress(Progress{Phase::Load, loaded, total,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()});
  };

  const CheckpointFiles files = locate_checkpoint_files(options.model_path);
  const ModelPlacement& pl = placement_;
  auto& registry = ModelRegistry::instance();

  dit_path_ = files.dit;
  use_loras(options.loras);
  task_ = task_of(dit_->model->config().model_type);
  progress();

  vae_ = registry.get<std::shared_ptr<WanVAE>>("vae", files.vae, pl.device, pl.vae_dtype, [&] {
    return std::make_shared<WanVAE>(load_vae(files.vae, LoadOptions{pl.device, pl.vae_dtype}));
  });
  progress();

  if (task_ != Task::TextToVideo) {
    if (files.clip.empty())
      throw Error("checkpoint folder " + options.model_path + " holds a " + task_name(task_) +
                  " DiT but no CLIP image encoder (models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth)");
    clip_ = registry.get<std::shared_ptr<ClipVisionEncoder>>("clip", files.clip, pl.clip_home, pl.clip_dtype, [&] {
      return std::make_shared<ClipVisionEncoder>(
          load_clip_vision_encoder(files.clip, LoadOptions{pl.clip_home, pl.clip_dtype}));
    });
  }
  progress();

  text_options_ = text_encoder_options(files, dit_->model->config().text_len, pl, options.cache_dir);
  if (!pl.text_encoder_per_request) text_ = shared_text_encoder(text_options_);
  progress();
}

void WanPipeline::use_loras(const std::vector<LoraSpec>& loras) {
  const ModelPlacement& pl = placement_;
  const bool runtime = options_.lora_mode == LoraMode::Runtime;
  if (dit_ && serves(loras_, loras, runtime)) {
    loras_ = loras;  // run-time strengths are set under the model's lock when sampling
    return;
  }
  dit_.reset();    // frees the old model first, unless another pipeline holds it
  loras_ = loras;  // what a failed load leaves asked for
  // A block-swapped DiT keeps its blocks in host memory: never shared with a resident one.
  const DiTBlocks blocks = pl.dit_block_swap ? DiTBlocks::StreamedFromHost : DiTBlocks::OnDevice;
  LoadOptions load = dit_load_options(pl, pl.dit_home);
  load.loras = loras;
  load.lora_mode = options_.lora_mode;
  dit_ = ModelRegistry::instance().get<WanModel>(
      "dit", dit_path_, pl.dit_home, pl.dit_dtype, [&] { return load_dit(dit_path_, load, std::nullopt, blocks); },
      std::string(pl.dit_block_swap ? "block-swap" : "") + dit_variant_key(pl) + lora_key(loras, options_.lora_mode));
}

std::pair<int, int> WanPipeline::output_size(const Request& request) const {
  request.validate();
  const VideoGeometry g = request_geometry(request);
  return {g.width, g.height};
}

Request WanPipeline::with_defaults(const Request& request) const {
  const auto [width, height] = output_size(request);
  return with_sampling_defaults(request, task_, width, height);
}

WanPipeline::TextContexts WanPipeline::encode_text(const std::string& prompt, const std::string& negative_prompt,
                                                   const CancelToken& cancel) {
  // Checked between the passes of prompt cleaning: some prompts take many.
  const auto check_cancel = [&] {
    if (cancel.cancelled()) throw Cancelled();
  };
  std::vector<at::Tensor> contexts;
  if (text_) {
    auto lock = use(text_);
    contexts = text_->model->encode({prompt, negative_prompt}, check_cancel);
  } else {
    TextEncoder encoder(text_options_);  // Sequential: on the device for this phase only
    contexts = encoder.encode({prompt, negative_prompt}, check_cancel);
  }
  return {contexts.at(0).to(placement_.device, at::kFloat), contexts.at(1).to(placement_.device, at::kFloat)};
}

DiTConditioning WanPipeline::condition(const Request& request, const VideoGeometry& g, const CancelToken& cancel) {
  DiTConditioning c;
  c.seq_len = g.seq_len;
  if (task_ == Task::TextToVideo) return c;

  const at::Tensor first = image_to_tensor(*request.image);
  std::optional<at::Tensor> last;
  if (task_ == Task::FirstLastFrameToVideo)
    last = fit_last_frame(image_to_tensor(*request.last_image), *request.image, *request.last_image);

  {
    // CLIP sees the original-size frames (it resizes them itself).
    auto lock = use(clip_);
    std::optional<DeviceVisit> visit;  // CLIP resting in host memory: on the device for this encode only
    if (placement_.clip_home != placement_.device) visit.emplace(*clip_->model->tower(), placement_.device);
    std::vector<at::Tensor> frames = {first.to(placement_.device).unsqueeze(1)};
    if (last) frames.push_back(last->to(placement_.device).unsqueeze(1));
    c.clip_fea = clip_->model->encode_video(frames).to(at::kFloat);
  }
  {
    auto lock = use(vae_);
    // Checked between the encoder's layers: one chunk of a large clip is slow on a CPU.
    c.y = image_condition(*vae_->model, first, last, g, [&] {
      if (cancel.cancelled()) throw Cancelled();
    });
  }
  return c;
}

at::Tensor WanPipeline::sample(const Request& request, const VideoGeometry& g, const DiTConditioning& c, int64_t seed,
                               const std::function<void(const Progress&)>& progress, const CancelToken& cancel,
                               GenerationResult* result, const PreviewCallbacks& preview) {
  const int64_t z_dim = vae_->model->config().z_dim;
  const at::Tensor noise =
      seeded_randn({z_dim, g.latent_frames, g.lat_h, g.lat_w}, static_cast<uint64_t>(seed), placement_.noise_device)
          .to(placement_.device);
  auto scheduler = make_flow_scheduler(request.solver);
  const int steps = *request.steps;
  if (auto* distill = dynamic_cast<FlowStepDistill*>(scheduler.get()))
    distill->set_denoising_steps(request.timesteps.empty() ? default_distill_steps(steps) : request.timesteps,
                                 *request.shift);
  else
    scheduler->set_timesteps(steps, *request.shift);
  if (auto* renoise = dynamic_cast<FlowRenoise*>(scheduler.get())) renoise->set_noise_seed(static_cast<uint64_t>(seed));
  if (trace_.on_noise) trace_.on_noise(noise, *scheduler);

  std::optional<StepCache> cache;
  if (request.cache.method != CacheMethod::None)
    cache.emplace(request.cache, cache_model_for(dit_->model->config(), g.width, g.height), steps);
  DenoiseOptions d;
  d.guidance_scale = *request.guidance_scale;
  d.both_branches = trace_.both_branches;
  const auto preview_step = preview_hook(preview, steps);
  int forwards = 0;  // without a cache, one per branch the guidance asked for
  d.on_step = [&](const DenoiseStep& s) {
    if (trace_.on_step) trace_.on_step(s);
    if (preview_step) preview_step(s);
    Progress p{Phase::Denoise, s.index + 1, steps, 0};
    if (cache) {
      p.forwards = result->forwards = static_cast<int>(cache->computed().size());
      p.forwards_reused = result->forwards_reused = static_cast<int>(cache->reused_count());
    } else {
      forwards += static_cast<int>(s.prediction->cond.defined()) + static_cast<int>(s.prediction->uncond.defined());
      p.forwards = result->forwards = forwards;
    }
    progress(p);
    if (cancel.cancelled()) throw Cancelled();
  };

  auto lock = use(dit_);
  WanModel& dit = dit_->model;
  if (dit->runtime_loras) {
    std::vector<double> strengths;
    for (const auto& l : loras_) strengths.push_back(l.strength);
    dit->set_lora_strengths(strengths);
  }
  std::optional<DeviceVisit> visit;  // Sequential: the DiT is on the device for the denoise only
  if (placement_.dit_home != placement_.device) visit.emplace(*dit, placement_.device);
  // One batched forward only for small videos: at 480p (32,760 tokens, 81 frames) one sample
  // already fills an H200, and batching costs memory (tests/bench/RESULTS.md).
  constexpr int64_t kLargestBatchedTokens = 16384;
  WanDenoiser denoiser(
      *dit, placement_.batch_guidance && g.seq_len <= kLargestBatchedTokens,
      [&] {
        if (trace_.on_block) trace_.on_block();
        if (cancel.cancelled()) throw Cancelled();
      },
      cache ? &*cache : nullptr);
  at::Tensor latent = denoise(denoiser, *scheduler, noise, c, d);
  dit->free_block_slots();  // block swap: the decode that follows is the mode's peak
  return latent;
}

void WanPipeline::decode(const at::Tensor& latent, const GenerationCallbacks& callbacks,
                         const std::function<void(const Progress&)>& progress, const CancelToken& cancel) {
  auto lock = use(vae_);
  int64_t next_frame = 0;
  int latent_frame = 0;
  const int latent_frames = static_cast<int>(latent.size(1));
  vae_->model->decode_streaming(latent, [&](const at::Tensor& piece) {
    if (trace_.on_decoded) trace_.on_decoded(piece);
    if (callbacks.on_frames) callbacks.on_frames(video_to_rgb_frames(piece), next_frame);
    next_frame += piece.size(1);
    progress(Progress{Phase::Decode, ++latent_frame, latent_frames, 0});
    if (cancel.cancelled()) throw Cancelled();
  });
}

GenerationResult WanPipeline::generate(const Request& asked, const GenerationCallbacks& callbacks,
                                       const CancelToken& cancel) {
  c10::AutoGradMode no_grad(false);
  const auto start = std::chrono::steady_clock::now();
  auto progress = [&](Progress p) {
    p.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (callbacks.on_progress) callbacks.on_progress(p);
  };
  auto check_cancel = [&] {
    if (cancel.cancelled()) throw Cancelled();
  };

  asked.validate();
  check_task(task_, asked);
  const VideoGeometry g = request_geometry(asked);
  const Request request = with_sampling_defaults(asked, task_, g.width, g.height);
  GenerationResult result;
  result.seed = request.seed >= 0 ? request.seed : draw_random_seed();
  result.steps = *request.steps;
  result.shift = *request.shift;
  result.guidance_scale = *request.guidance_scale;
  // Also after a failed change, which left no model: the current LoRAs are loaded again.
  use_loras(request.loras.value_or(loras_));
  result.loras = loras_;
  result.width = g.width;
  result.height = g.height;
  result.num_frames = g.num_frames;
  check_cancel();

  // Only "" selects the default; any other text, whitespace included, is used as given.
  const std::string negative =
      request.negative_prompt.empty() ? default_negative_prompt(task_) : request.negative_prompt;
  if (trace_.on_prompts) trace_.on_prompts(request.prompt, negative);
  const int encode_steps = task_ == Task::TextToVideo ? 1 : 2;
  progress(Progress{Phase::Encode, 0, encode_steps, 0});
  const TextContexts text = encode_text(request.prompt, negative, cancel);
  if (trace_.on_text) trace_.on_text(text.context, text.context_null);
  progress(Progress{Phase::Encode, 1, encode_steps, 0});
  check_cancel();

  DiTConditioning c = condition(request, g, cancel);
  c.context = text.context;
  c.context_null = text.context_null;
  if (task_ != Task::TextToVideo) {
    if (trace_.on_image) trace_.on_image(c.clip_fea, c.y);
    progress(Progress{Phase::Encode, 2, encode_steps, 0});
  }
  check_cancel();

  const at::Tensor latent = sample(request, g, c, result.seed, progress, cancel, &result, callbacks.preview);
  c = DiTConditioning();  // the conditioning is not needed for decoding
  check_cancel();
  decode(latent, callbacks, progress, cancel);
  return result;
}

}  // namespace wan
