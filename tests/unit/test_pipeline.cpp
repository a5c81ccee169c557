// The pipeline as the element and the CLI use it, on the tiny reference
// checkpoint (argv[1]): pipelines share their models through the registry,
// progress arrives in order with frames streamed in sequence, a cancelled
// request stops at the next DiT block and lets go of its tensors, block swap
// generates what the resident models do, and bad requests fail naming the field.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include <unistd.h>

#include <c10/util/intrusive_ptr.h>

#include "models/common/error.h"
#include "models/t5/text_cleaning.h"
#include "models/weights/safetensors.h"
#include "pipeline/model_registry.h"
#include "pipeline/names.h"
#include "pipeline/step_cache.h"
#include "pipeline/wan_pipeline.h"
#include "tests/common/random_lora.h"
#include "tests/unit/check.h"

namespace {

std::string g_ckpt;

wan::PipelineOptions options() {
  wan::PipelineOptions o;
  o.model_path = g_ckpt;
  o.device = "cpu";
  return o;
}

wan::Request small_request() {
  wan::Request r;
  r.image = wan::RgbImage{40, 40, {}};  // square: 32x32 at a 32 * 32 budget
  for (int i = 0; i < 40 * 40 * 3; ++i) r.image->pixels.push_back(static_cast<uint8_t>(i * 7));
  r.prompt = "a red house";
  r.max_area = 32 * 32;
  r.num_frames = 5;
  r.steps = 2;
  r.seed = 7;
  return r;
}

using WeakTensor = c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>;

void test_registry_shares_models() {
  auto& registry = wan::ModelRegistry::instance();
  const size_t before = registry.live_models();
  std::vector<wan::Progress> load_progress;
  auto a = wan::Pipeline::load(options(), [&](const wan::Progress& p) { load_progress.push_back(p); });
  const size_t one = registry.live_models();
  EXPECT_MSG(one == before + 4, std::to_string(one) + " models after one i2v pipeline (DiT, VAE, CLIP, umT5)");
  auto b = wan::Pipeline::load(options());
  EXPECT_MSG(registry.live_models() == one, "a second pipeline on the same checkpoint loaded its own models");
  a.reset();
  EXPECT(registry.live_models() == one);
  b.reset();
  EXPECT_MSG(registry.live_models() == before, "models outlive the pipelines that used them");

  EXPECT(!load_progress.empty());
  for (size_t i = 0; i < load_progress.size(); ++i)
    EXPECT(load_progress[i].phase == wan::Phase::Load && load_progress[i].step == static_cast<int>(i) + 1);
}

void test_progress_and_frames_in_order() {
  auto pipeline = wan::Pipeline::load(options());
  EXPECT(pipeline->task() == wan::Task::ImageToVideo);
  const wan::Request request = small_request();
  std::vector<wan::Progress> events;
  int64_t next_frame = 0;
  bool frames_ok = true;
  wan::GenerationCallbacks cb;
  cb.on_progress = [&](const wan::Progress& p) { events.push_back(p); };
  cb.on_frames = [&](const at::Tensor& f, int64_t first) {
    frames_ok = frames_ok && first == next_frame && f.scalar_type() == at::kByte && f.dim() == 4 && f.size(1) == 32 &&
                f.size(2) == 32 && f.size(3) == 3 && f.is_contiguous();
    next_frame += f.size(0);
  };
  wan::CancelToken cancel;
  const wan::GenerationResult r = pipeline->generate(request, cb, cancel);
  EXPECT(r.width == 32 && r.height == 32 && r.num_frames == 5 && r.seed == 7);
  // The settings the request left unset are reported as run: i2v at 480p or less samples at shift 3.
  EXPECT_MSG(r.steps == 2 && r.shift == 3.0 && r.guidance_scale == 5.0,
             std::to_string(r.steps) + " steps, shift " + std::to_string(r.shift));
  const wan::Request resolved = pipeline->with_defaults(request);
  EXPECT(*resolved.steps == 2 && *resolved.shift == 3.0 && *resolved.guidance_scale == 5.0);
  EXPECT(frames_ok);
  EXPECT_MSG(next_frame == 5, std::to_string(next_frame) + " frames streamed");

  int denoise_steps = 0, decode_steps = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const wan::Progress& p = events[i];
    if (p.phase == wan::Phase::Denoise) EXPECT(p.step == ++denoise_steps && p.total_steps == 2);
    if (p.phase == wan::Phase::Decode) EXPECT(p.step == ++decode_steps && p.total_steps == 2);
    if (i == 0) continue;
    const wan::Progress& q = events[i - 1];
    EXPECT_MSG(static_cast<int>(q.phase) <= static_cast<int>(p.phase), "phases go backwards");
    EXPECT_MSG(q.phase != p.phase || q.step <= p.step, "steps go backwards");
    EXPECT(q.elapsed_s <= p.elapsed_s);
  }
  EXPECT(!events.empty() && events.front().phase == wan::Phase::Encode);
  EXPECT(denoise_steps == 2 && decode_steps == 2);
}

void test_cancel_stops_at_the_next_block() {
  wan::WanPipeline pipeline(options(), {});
  wan::CancelToken cancel;
  int blocks = 0, blocks_when_cancelled = -1;
  // (The prompt contexts stay in the text encoder's prompt cache on purpose.)
  std::optional<WeakTensor> noise, condition;
  wan::GenerationTrace trace;
  trace.on_image = [&](const at::Tensor&, const at::Tensor& y) { condition = WeakTensor(y.getIntrusivePtr()); };
  trace.on_noise = [&](const at::Tensor& n, const wan::FlowScheduler&) { noise = WeakTensor(n.getIntrusivePtr()); };
  trace.on_block = [&] {
    ++blocks;
    if (blocks == 3 && !cancel.cancelled()) {  // mid-way through the first step's passes
      cancel.cancel();
      blocks_when_cancelled = blocks;
    }
  };
  pipeline.set_trace(trace);
  bool denoise_progress = false, frames = false, cancelled = false;
  wan::GenerationCallbacks cb;
  cb.on_progress = [&](const wan::Progress& p) { denoise_progress |= p.phase == wan::Phase::Denoise; };
  cb.on_frames = [&](const at::Tensor&, int64_t) { frames = true; };
  try {
    pipeline.generate(small_request(), cb, cancel);
  } catch (const wan::Cancelled&) {
    cancelled = true;
  }
  EXPECT(cancelled);
  EXPECT_MSG(blocks == blocks_when_cancelled,
             std::to_string(blocks - blocks_when_cancelled) + " DiT blocks ran after the cancel");
  EXPECT(!denoise_progress && !frames);
  EXPECT_MSG(noise && condition && noise->expired() && condition->expired(),
             "the cancelled request still holds its tensors");

  // The pipeline stays usable.
  cancel.reset();
  trace.on_block = {};
  pipeline.set_trace(trace);
  int64_t streamed = 0;
  cb.on_frames = [&](const at::Tensor& f, int64_t) { streamed += f.size(0); };
  pipeline.generate(small_request(), cb, cancel);
  EXPECT(streamed == 5);

  // Cancelled before it starts: nothing runs.
  cancel.cancel();
  EXPECT_ERROR(pipeline.generate(small_request(), cb, cancel), "cancelled");
}

// The decoded video (float, before the uint8 conversion) of one small request.
at::Tensor decoded_video(wan::WanPipeline& pipeline, const wan::Request& request = small_request()) {
  std::vector<at::Tensor> pieces;
  wan::GenerationTrace trace;
  trace.on_decoded = [&](const at::Tensor& video) { pieces.push_back(video.clone()); };
  pipeline.set_trace(trace);
  wan::CancelToken cancel;
  pipeline.generate(request, {}, cancel);
  pipeline.set_trace({});  // the trace refers to `pieces`
  return at::cat(pieces, 1);
}

void test_block_swap_matches_resident() {
  auto& registry = wan::ModelRegistry::instance();
  const size_t before = registry.live_models();
  wan::PipelineOptions swap = options();
  swap.memory_mode = wan::MemoryMode::BlockSwap;
  wan::WanPipeline resident(options(), {});
  wan::WanPipeline swapped(swap, {});
  EXPECT_MSG(registry.live_models() == before + 5,
             std::to_string(registry.live_models() - before) +
                 " models for a resident and a block-swap pipeline (expected 5: two DiTs, one VAE, CLIP, umT5)");
  const wan::ModelPlacement& p = swapped.placement();
  EXPECT(p.dit_block_swap && p.text_device.is_cpu() && !p.batch_guidance);
  EXPECT(!resident.placement().dit_block_swap);
  EXPECT_MSG(at::equal(decoded_video(swapped), decoded_video(resident)), "block swap changes the generated video");
}

// A random kohya LoRA on every matrix of the checkpoint's DiT blocks.
std::string write_lora() {
  const wan::TensorMap lora =
      wan::test::random_kohya_lora(wan::load_safetensors(g_ckpt + "/diffusion_pytorch_model.safetensors"), 4, 3);
  const std::string path =
      std::filesystem::temp_directory_path() / ("test-pipeline-lora-" + std::to_string(::getpid()) + ".safetensors");
  wan::save_safetensors(path, lora);
  return path;
}

// Run-time LoRAs: requests change strengths without a new model; strength 0 is the plain
// model exactly; merged LoRAs make a model of their own and give (nearly) the same video.
void test_lora_requests() {
  const std::string lora = write_lora();
  auto& registry = wan::ModelRegistry::instance();
  const size_t before = registry.live_models();
  wan::PipelineOptions o = options();
  o.lora_mode = wan::LoraMode::Runtime;
  o.loras = {{lora, 0.05}};
  wan::WanPipeline runtime(o, {});
  wan::WanPipeline plain(options(), {});
  const size_t loaded = registry.live_models();
  EXPECT_MSG(loaded == before + 5, std::to_string(loaded - before) + " models (expected two DiTs, VAE, CLIP, umT5)");

  const at::Tensor base = decoded_video(plain);
  wan::Request r = small_request();
  const at::Tensor with_lora = decoded_video(runtime, r);
  EXPECT_MSG(!at::equal(with_lora, base), "the LoRA changed nothing");
  r.loras = std::vector<wan::LoraSpec>{{lora, 0.0}};
  EXPECT_MSG(at::equal(decoded_video(runtime, r), base), "strength 0 is not the plain model");
  EXPECT_MSG(registry.live_models() == loaded, "a strength change loaded a model");
  r.loras = std::vector<wan::LoraSpec>{{lora, 0.05}};
  EXPECT(at::equal(decoded_video(runtime, r), with_lora));
  r.loras = std::vector<wan::LoraSpec>{};
  EXPECT_MSG(at::equal(decoded_video(runtime, r), base), "dropping the LoRA did not give the plain model back");

  wan::PipelineOptions merged_options = options();
  merged_options.loras = {{lora, 0.05}};
  wan::WanPipeline merged(merged_options, {});
  const double rel = ((decoded_video(merged) - with_lora).norm() / with_lora.norm()).item<double>();
  EXPECT_MSG(rel < 1e-4, "merged and run-time LoRAs differ by " + std::to_string(rel));
  EXPECT_MSG(at::equal(decoded_video(plain), base), "the plain pipeline's model changed");

  // A LoRA that fails to load leaves a usable pipeline: the next request loads what it asks.
  r.loras = std::vector<wan::LoraSpec>{{lora + ".missing", 1.0}};
  EXPECT_ERROR(decoded_video(runtime, r), "does not exist");
  r.loras.reset();
  EXPECT_ERROR(decoded_video(runtime, r), "does not exist");  // still asked for: the same error, no crash
  r.loras = std::vector<wan::LoraSpec>{};
  EXPECT_MSG(at::equal(decoded_video(runtime, r), base), "no LoRA after a failed change");
  std::filesystem::remove(lora);
}

// Step caching skips block evaluations, reports them, and stays close to the exact video;
// a new request starts a fresh cache (the same request twice gives the same video).
void test_step_cache() {
  wan::WanPipeline pipeline(options(), {});
  wan::Request r = small_request();
  r.steps = 10;
  const at::Tensor exact = decoded_video(pipeline, r);
  for (auto method : {wan::CacheMethod::MagCache, wan::CacheMethod::TeaCache, wan::CacheMethod::EasyCache}) {
    r.cache = {};
    r.cache.method = method;
    // The tiny model's (fixtures README; EasyCache: its random DiT's k is about 10, each step
    // adds about 0.6 to 1); EasyCache's default warm-up (10 steps) would cover all 10 steps.
    r.cache.threshold = method == wan::CacheMethod::TeaCache ? 3e5 : method == wan::CacheMethod::MagCache ? 0.12 : 0.7;
    if (method == wan::CacheMethod::EasyCache) r.cache.warmup_steps = 2;
    std::vector<wan::Progress> progress;
    wan::GenerationCallbacks callbacks;
    callbacks.on_progress = [&](const wan::Progress& p) {
      if (p.phase == wan::Phase::Denoise) progress.push_back(p);
    };
    wan::CancelToken cancel;
    const wan::GenerationResult result = pipeline.generate(r, callbacks, cancel);
    EXPECT_MSG(result.forwards == 20 && result.forwards_reused > 0 && result.forwards_reused < 20,
               std::to_string(result.forwards_reused) + " of " + std::to_string(result.forwards) + " reused");
    EXPECT(progress.size() == 10 && progress.back().forwards == 20 &&
           progress.back().forwards_reused == result.forwards_reused);
    const at::Tensor cached = decoded_video(pipeline, r);
    EXPECT_MSG(at::equal(cached, decoded_video(pipeline, r)), "a second request did not start a fresh cache");
    const double rel = ((cached - exact).norm() / exact.norm()).item<double>();
    EXPECT_MSG(rel > 0 && rel < 0.5, "cached vs exact video: rel. L2 " + std::to_string(rel));
  }
  r.cache.max_skips = 0;
  EXPECT_ERROR(pipeline.generate(r, {}, wan::CancelToken()), "cache_max_skips: must be at least 1");
  // EasyCache needs no calibration: the default warm-up at 12 steps leaves step 10 (the
  // threshold permitting) to reuse, the last step always runs.
  r.cache = {};
  r.cache.method = wan::CacheMethod::EasyCache;
  r.cache.threshold = 1e9;
  r.steps = 12;
  const wan::GenerationResult result = pipeline.generate(r, {}, wan::CancelToken());
  EXPECT_MSG(result.forwards == 24 && result.forwards_reused == 2,
             std::to_string(result.forwards_reused) + " of " + std::to_string(result.forwards) + " reused");
  r.cache.warmup_steps = -1;
  EXPECT_ERROR(pipeline.generate(r, {}, wan::CancelToken()), "cache_warmup_steps");
}

void test_nearest_interp() {
  const std::vector<double> src = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  // numpy: round(arange(4) * 9 / 3) = [0, 3, 6, 9]; round(arange(5) * 9 / 4) = [0, 2, 4, 7, 9] (2.25, 4.5 -> 4, 6.75).
  EXPECT((wan::nearest_interp(src, 4) == std::vector<double>{0, 3, 6, 9}));
  EXPECT((wan::nearest_interp(src, 5) == std::vector<double>{0, 2, 4, 7, 9}));
  EXPECT((wan::nearest_interp(src, 1) == std::vector<double>{9}));
}

// A single-file DiT: the other models are found in its folder.
void test_single_file_dit() {
  wan::PipelineOptions o = options();
  o.model_path = g_ckpt + "/diffusion_pytorch_model.safetensors";
  wan::WanPipeline from_file(o, {});
  wan::WanPipeline from_folder(options(), {});
  EXPECT(at::equal(decoded_video(from_file), decoded_video(from_folder)));
}

// A stop during the VAE encode of the conditioning clip ends the encode at the
// next frame (it used to run the whole clip first). The stop comes from another
// thread a while after the text is encoded; the clip's encode takes seconds here.
void test_cancel_inside_vae_encode() {
  wan::WanPipeline pipeline(options(), {});
  wan::Request r = small_request();
  r.max_area = 640 * 640;
  r.num_frames = 33;
  wan::CancelToken cancel;
  std::atomic<bool> text_done{false}, image_encoded{false};
  wan::GenerationCallbacks cb;
  cb.on_progress = [&](const wan::Progress& p) {
    if (p.phase == wan::Phase::Encode && p.step == 1) text_done = true;
    if (p.phase == wan::Phase::Encode && p.step == 2) image_encoded = true;
  };
  using Clock = std::chrono::steady_clock;
  Clock::time_point cancelled_at;
  std::thread stopper([&] {
    while (!text_done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancelled_at = Clock::now();
    cancel.cancel();
  });
  bool cancelled = false;
  try {
    pipeline.generate(r, cb, cancel);
  } catch (const wan::Cancelled&) {
    cancelled = true;
  }
  const Clock::time_point returned = Clock::now();
  stopper.join();
  const double after_stop = std::chrono::duration<double>(returned - cancelled_at).count();
  std::printf("encode stop: returned %.3f s after the stop\n", after_stop);
  EXPECT(cancelled);
  EXPECT_MSG(!image_encoded, "the stop came after the image encode ended (make the clip longer)");
  EXPECT_MSG(after_stop < 5.0, "generate returned " + std::to_string(after_stop) + " s after the stop");
}

// A stop while the prompts are encoded ends the prompt cleaning (checked
// between its passes), before umT5 runs; a prompt beyond the cleaning's limit
// is refused before anything runs.
void test_cancel_inside_prompt_cleaning() {
  wan::WanPipeline pipeline(options(), {});
  bool text_encoded = false;
  wan::GenerationTrace trace;
  trace.on_text = [&](const at::Tensor&, const at::Tensor&) { text_encoded = true; };
  pipeline.set_trace(trace);
  wan::CancelToken cancel;
  wan::GenerationCallbacks cb;
  cb.on_progress = [&](const wan::Progress& p) {
    if (p.phase == wan::Phase::Encode && p.step == 0) cancel.cancel();
  };
  wan::Request r = small_request();
  r.prompt = "a fresh prompt, not cached: " + std::to_string(::getpid());
  EXPECT_ERROR(pipeline.generate(r, cb, cancel), "cancelled");
  EXPECT_MSG(!text_encoded, "umT5 ran after the stop");

  r.prompt = std::string(wan::kMaxPromptBytes + 1, 'a');
  cancel.reset();
  cb.on_progress = {};
  EXPECT_ERROR(pipeline.generate(r, cb, cancel), "invalid request: prompt: 65537 bytes");
  r = small_request();
  r.negative_prompt = std::string(wan::kMaxPromptBytes + 1, 'a');
  EXPECT_ERROR(pipeline.generate(r, cb, cancel), "invalid request: negative_prompt: 65537 bytes");
}

void test_bad_requests_name_the_field() {
  auto pipeline = wan::Pipeline::load(options());
  wan::CancelToken cancel;
  wan::Request r = small_request();
  r.image.reset();  // a text-only request to an i2v checkpoint
  EXPECT_ERROR(pipeline->generate(r, {}, cancel), "image");
  r = small_request();
  r.num_frames = 6;
  EXPECT_ERROR(pipeline->generate(r, {}, cancel), "num_frames");
  r = small_request();
  r.last_image = r.image;
  EXPECT_ERROR(pipeline->generate(r, {}, cancel), "last_image");
  r = small_request();
  r.width = 30, r.height = 32;
  EXPECT_ERROR(pipeline->output_size(r), "width");

  wan::PipelineOptions o = options();
  o.device = "tpu";
  EXPECT_ERROR(wan::Pipeline::load(o), "device");
  o = options();
  o.dtype = "float8";
  EXPECT_ERROR(wan::Pipeline::load(o), "dtype");
  o = options();
  o.attention = "int4";
  EXPECT_ERROR(wan::Pipeline::load(o), "attention 'int4' is not supported (expected exact, fp8 or int8)");
  o = options();  // on the CPU
  o.attention = "fp8";
  EXPECT_ERROR(wan::Pipeline::load(o), "attention fp8");
  wan::PipelineOptions int8 = options();
  int8.attention = "int8";
  EXPECT_ERROR(wan::Pipeline::load(int8), "attention int8");
  // A DiT with 8-bit attention is never shared with an exact one, nor one kernel's with the other's.
  EXPECT(wan::resolve_placement(options()).dit_attention == wan::SelfAttentionKind::exact);
  EXPECT(wan::resolve_placement(o).dit_attention == wan::SelfAttentionKind::fp8);
  EXPECT(wan::resolve_placement(int8).dit_attention == wan::SelfAttentionKind::int8);
  const std::string exact_key = wan::dit_variant_key(wan::resolve_placement(options()));
  const std::string fp8_key = wan::dit_variant_key(wan::resolve_placement(o));
  const std::string int8_key = wan::dit_variant_key(wan::resolve_placement(int8));
  EXPECT(fp8_key != exact_key && int8_key != exact_key && int8_key != fp8_key);
  o = options();
  o.model_path = g_ckpt + "/does-not-exist";
  EXPECT_ERROR(wan::Pipeline::load(o), "does-not-exist");

  for (wan::MemoryMode m : {wan::MemoryMode::Resident, wan::MemoryMode::Sequential, wan::MemoryMode::TextEncoderCpu,
                            wan::MemoryMode::BlockSwap})
    EXPECT(wan::parse_memory_mode(wan::memory_mode_name(m)) == m);
  EXPECT_ERROR(wan::parse_memory_mode("swap"), "block-swap");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-pipeline CHECKPOINT_DIR\n");
    return 2;
  }
  g_ckpt = argv[1];
  try {
    test_registry_shares_models();
    test_progress_and_frames_in_order();
    test_cancel_stops_at_the_next_block();
    test_cancel_inside_vae_encode();
    test_cancel_inside_prompt_cleaning();
    test_block_swap_matches_resident();
    test_lora_requests();
    test_single_file_dit();
    test_step_cache();
    test_nearest_interp();
    test_bad_requests_name_the_field();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    return 1;
  }
  return wan::test::check_exit("test-pipeline");
}
