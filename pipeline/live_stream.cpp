#include "pipeline/live_stream.h"

#include <chrono>

#include <c10/core/GradMode.h>

#include "models/common/error.h"
#include "models/dit/causal_checkpoint.h"
#include "models/dit/dit_loader.h"
#include "models/vae/vae_loader.h"
#include "pipeline/checkpoint_folder.h"
#include "pipeline/seeded_noise.h"
#include "pipeline/video_frames.h"
#include "pipeline/wan_pipeline.h"

namespace wan {
namespace {

// The window of an endless stream: see live_stream.h.
constexpr int64_t kWindowFrames = 21;
constexpr int64_t kSinkFrames = 3;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <class Model>
std::unique_lock<std::mutex> use(const std::shared_ptr<SharedModel<Model>>& m) {
  return std::unique_lock<std::mutex>(m->in_use);
}

}  // namespace

CausalSettings live_causal_settings() {
  CausalSettings s;
  s.local_attn_size = kWindowFrames;
  s.sink_size = kSinkFrames;
  return s;
}

LiveStream::LiveStream(const LiveOptions& options, const std::function<void(const Progress&)>& on_progress)
    : settings_(options.causal) {
  c10::AutoGradMode no_grad(false);
  settings_.validate();
  const PipelineOptions& models = options.models;
  if (models.memory_mode != MemoryMode::Resident && models.memory_mode != MemoryMode::TextEncoderCpu)
    throw Error("live mode keeps its models on the device: memory mode resident or text-encoder-cpu");
  if (!models.loras.empty()) throw Error("live mode does not apply LoRAs");
  const ModelPlacement pl = resolve_placement(models);
  device_ = pl.device;
  seed_ = options.seed >= 0 ? options.seed : draw_random_seed();

  const auto start = std::chrono::steady_clock::now();
  int loaded = 0;
  auto progress = [&] {
    if (on_progress) on_progress(Progress{Phase::Load, ++loaded, 3, seconds_since(start)});
  };

  const CheckpointFiles files = locate_checkpoint_files(models.model_path);
  const DiTKind kind = dit_checkpoint_kind(files.dit);
  if (kind != DiTKind::Causal)
    throw Error("live mode needs a causal (chunk-wise, Self-Forcing) DiT checkpoint such as self_forcing_dmd.pt; " +
                files.dit + " holds a " + to_string(kind) + " Wan2.1 DiT, which makes whole clips (live=false)");
  auto& registry = ModelRegistry::instance();
  const LoadOptions load = dit_load_options(pl, pl.device);
  dit_ = registry.get<WanModel>(
      "dit", files.dit, pl.device, pl.dit_dtype, [&] { return load_dit(files.dit, load); }, dit_variant_key(pl));
  if (dit_->model->config().has_image_input())
    throw Error("live mode generates from text only; " + files.dit + " holds a causal " +
                to_string(dit_->model->config().model_type) + " DiT");
  progress();

  if (options.decoder == LiveDecoder::Taew2_1) {
    if (options.taehv_path.empty()) throw Error("live mode's TAEW2.1 decoder needs the taew2_1.pth file's path");
    // bf16 on CUDA as the previewer: the tiny decoder's error stays below its own.
    const at::ScalarType dtype = pl.device.is_cuda() ? at::kBFloat16 : at::kFloat;
    try {
      taehv_ = taehv::load_taehv_decoder(options.taehv_path, pl.device, dtype);
    } catch (const Error& e) {
      throw Error("TAEW2.1 decoder " + options.taehv_path + ": " + e.what());
    }
  } else {
    vae_ = registry.get<std::shared_ptr<WanVAE>>("vae", files.vae, pl.device, pl.vae_dtype, [&] {
      return std::make_shared<WanVAE>(load_vae(files.vae, LoadOptions{pl.device, pl.vae_dtype}));
    });
  }
  progress();

  // Elements over the same files share one umT5, clip mode's included.
  text_ = shared_text_encoder(text_encoder_options(files, dit_->model->config().text_len, pl, models.cache_dir));
  progress();
  reset();
}

void LiveStream::set_size(int width, int height) {
  if (width < 16 || height < 16 || width % 16 != 0 || height % 16 != 0)
    throw Error("live mode: the video size " + std::to_string(width) + "x" + std::to_string(height) +
                " must be positive multiples of 16");
  if (width == width_ && height == height_) return;
  width_ = width;
  height_ = height;
  generator_.reset();  // made anew for the size at the next chunk
  reset();
}

void LiveStream::set_prompt(const std::string& prompt) { prompt_ = prompt; }

int64_t LiveStream::spatial_scale() const {
  return vae_ ? vae_->model->config().spatial_scale() : taehv::TaehvDecoderImpl::kSpatialScale;
}

int64_t LiveStream::temporal_scale() const {
  return vae_ ? vae_->model->config().temporal_scale() : taehv_->temporal_scale();
}

int64_t LiveStream::chunk_output_frames(int64_t index) const {
  const int64_t latent = index == 0 && settings_.independent_first_frame ? 1 : settings_.frames_per_chunk;
  const int64_t temporal = temporal_scale();
  return index == 0 ? 1 + temporal * (latent - 1) : temporal * latent;
}

CausalGenerator& LiveStream::generator() {
  if (!generator_) {
    const int64_t scale = spatial_scale();
    generator_.emplace(dit_->model, settings_, height_ / scale, width_ / scale);
    context_set_ = false;
  }
  return *generator_;
}

at::Tensor LiveStream::prompt_context(const std::string& prompt, const CancelToken& cancel) {
  auto lock = use(text_);
  // Prompt cleaning checks for a stop between its passes, as the clip pipeline's does.
  const auto check_cancel = [&cancel] {
    if (cancel.cancelled()) throw Cancelled();
  };
  return text_->model->encode({prompt}, check_cancel).at(0).to(device_, at::kFloat);
}

LiveChunkInfo LiveStream::next_chunk(const std::function<void(const at::Tensor& frames, int64_t first)>& on_frames,
                                     const CancelToken& cancel) {
  c10::AutoGradMode no_grad(false);
  if (restart_) reset();
  if (prepared_ && prepared_->info.prompt != prompt_) reset();  // made for another prompt
  if (prepared_) return hand_out_prepared(on_frames);
  CausalGenerator& gen = generator();
  LiveChunkInfo info;
  info.index = gen.chunks_done();
  info.first_frame = frames_out_;
  info.prompt = prompt_;

  if (!context_set_ || context_prompt_ != prompt_) {
    const auto encode_start = std::chrono::steady_clock::now();
    const at::Tensor context = prompt_context(prompt_, cancel);
    gen.set_context(context);
    context_prompt_ = prompt_;
    context_set_ = true;
    info.encode_s = seconds_since(encode_start);
  }
  const auto start = std::chrono::steady_clock::now();
  if (cancel.cancelled()) throw Cancelled();
  CausalChunk chunk;
  {
    auto lock = use(dit_);
    chunk = gen.next_chunk(*noise_, &cancel);
  }
  info.generate_s = seconds_since(start);

  const auto decode_start = std::chrono::steady_clock::now();
  restart_ = true;  // until the decode has handed out every frame
  decode(chunk.latents, [&](const at::Tensor& frames) {
    if (on_frames) on_frames(frames, frames_out_);
    frames_out_ += frames.size(0);
    info.frames += frames.size(0);
  });
  restart_ = false;
  info.decode_s = seconds_since(decode_start);
  return info;
}

void LiveStream::decode(const at::Tensor& latents, const std::function<void(const at::Tensor& frames)>& on_piece) {
  if (taehv_) {
    // [C, F, h, w] frames first; RGB in [0, 1] back to the VAE's [-1, 1] video, converted alike.
    const at::Tensor rgb = taehv_->decode_continuing(latents.permute({1, 0, 2, 3}), taehv_stream_);
    on_piece(video_to_rgb_frames(rgb.permute({1, 0, 2, 3}).to(at::kFloat).mul(2).sub(1)));
    return;
  }
  auto lock = use(vae_);
  vae_->model->decode_continuing(latents, decode_,
                                 [&](const at::Tensor& piece) { on_piece(video_to_rgb_frames(piece)); });
}

void LiveStream::warm_up(const CancelToken& cancel, int chunks) {
  try {
    for (int i = 0; i < chunks; ++i) next_chunk({}, cancel);
  } catch (...) {
    reset();
    throw;
  }
  reset();
}

void LiveStream::prepare_first_chunk(const CancelToken& cancel) {
  if (prepared_) return;
  if (chunks_done() > 0) reset();
  PreparedChunk chunk;
  try {
    chunk.info = next_chunk([&](const at::Tensor& frames, int64_t) { chunk.frames.push_back(frames); }, cancel);
  } catch (...) {
    reset();
    throw;
  }
  chunk.info.generated_ahead = true;
  prepared_ = std::move(chunk);
}

LiveChunkInfo LiveStream::hand_out_prepared(
    const std::function<void(const at::Tensor& frames, int64_t first)>& on_frames) {
  PreparedChunk chunk = std::move(*prepared_);
  prepared_.reset();
  restart_ = true;  // until every frame is handed out, as for a decode
  int64_t first = chunk.info.first_frame;
  for (const at::Tensor& frames : chunk.frames) {
    if (on_frames) on_frames(frames, first);
    first += frames.size(0);
  }
  restart_ = false;
  return chunk.info;
}

void LiveStream::reset() {
  prepared_.reset();
  if (generator_) generator_->reset();
  noise_ = std::make_unique<SeededCausalNoise>(static_cast<uint64_t>(seed_), device_);
  decode_ = VAEDecodeStream();
  taehv_stream_ = taehv::DecodeStream();
  frames_out_ = 0;
  restart_ = false;
}

}  // namespace wan
