#include "pipeline/causal_generator.h"

#include <c10/core/GradMode.h>

#include <string>

#include "models/common/error.h"
#include "pipeline/flow_step_distill.h"

namespace wan {

void CausalSettings::validate() const {
  check_distill_steps(denoising_steps);
  if (!(timestep_shift > 0)) throw Error("live mode: timestep_shift must be positive");
  if (frames_per_chunk < 1)
    throw Error("live mode: frames per chunk must be at least 1, got " + std::to_string(frames_per_chunk));
  if (context_noise < 0 || context_noise > 1000)
    throw Error("live mode: context_noise must be a timestep in [0, 1000], got " + std::to_string(context_noise));
  if (local_attn_size != -1 && local_attn_size < frames_per_chunk + sink_size)
    throw Error("live mode: local_attn_size " + std::to_string(local_attn_size) +
                " must be -1 (global attention) or at least frames per chunk " + std::to_string(frames_per_chunk) +
                " + sink_size " + std::to_string(sink_size));
  if (sink_size < 0) throw Error("live mode: sink_size must be >= 0");
}

namespace {

dit::CausalCache make_cache(const WanModelImpl& model, const CausalSettings& s, int64_t height, int64_t width) {
  const auto& p = model.config().patch_size;
  if (height < 1 || width < 1 || height % p[1] != 0 || width % p[2] != 0)
    throw Error("live mode: the latent frame " + std::to_string(height) + "x" + std::to_string(width) +
                " must be a positive multiple of the patch size " + std::to_string(p[1]) + "x" + std::to_string(p[2]));
  s.validate();
  return dit::CausalCache(model.config().num_layers, (height / p[1]) * (width / p[2]), s.local_attn_size, s.sink_size);
}

}  // namespace

CausalGenerator::CausalGenerator(WanModel model, CausalSettings settings, int64_t latent_height, int64_t latent_width)
    : model_(std::move(model)),
      settings_(std::move(settings)),
      height_(latent_height),
      width_(latent_width),
      cache_(make_cache(*model_, settings_, latent_height, latent_width)) {
  if (model_->config().has_image_input())
    throw Error("live mode generates from text only; this DiT is a " + to_string(model_->config().model_type) +
                " model");
  // The step-distilled table (shift, then t = 1000 s): at 1000 - step (warped), or nearest each step.
  FlowStepDistill schedule;
  if (settings_.warp_denoising_steps)
    schedule.set_denoising_steps(settings_.denoising_steps, settings_.timestep_shift);
  else
    schedule.set_unwarped_denoising_steps(settings_.denoising_steps, settings_.timestep_shift);
  timesteps_ = schedule.timesteps();
  sigmas_ = schedule.sigmas().to(model_->patch_embedding->weight.device());
}

void CausalGenerator::set_context(const at::Tensor& context) {
  const DiTConfig& c = model_->config();
  if (!context.defined() || context.dim() != 2 || context.size(1) != c.text_dim || context.size(0) > c.text_len)
    throw Error("live mode: the prompt embedding must be [L <= " + std::to_string(c.text_len) + ", " +
                std::to_string(c.text_dim) + "]");
  context_ = context;
  cache_.forget_context();
}

int64_t CausalGenerator::chunk_frames(int64_t index) const {
  return index == 0 && settings_.independent_first_frame ? 1 : settings_.frames_per_chunk;
}

void CausalGenerator::reset() {
  cache_.reset();
  next_frame_ = 0;
  chunks_done_ = 0;
}

at::Tensor CausalGenerator::flow(const at::Tensor& x, const at::Tensor& t, int64_t first_frame,
                                 const CancelToken* cancel) {
  const BetweenBlocks check = [cancel] {
    if (cancel && cancel->cancelled()) throw Cancelled();
  };
  return model_->forward_chunk(x, t, context_, first_frame, cache_, check);
}

CausalChunk CausalGenerator::next_chunk(CausalNoise& noise, const CancelToken* cancel) {
  if (!context_.defined()) throw Error("live mode: no prompt embedding was set before the first chunk");
  c10::AutoGradMode no_grad(false);
  const at::Device device = model_->patch_embedding->weight.device();
  const int64_t channels = model_->config().out_dim;
  const std::vector<int64_t> frame{channels, height_, width_};

  CausalChunk chunk;
  chunk.index = chunks_done_;
  chunk.first_frame = next_frame_;
  const int64_t n = chunk_frames(chunk.index);
  const int steps = static_cast<int>(timesteps_.numel());
  at::Tensor x = noise.draw(chunk.first_frame, n, -1, frame).to(device, at::kFloat);
  at::Tensor x0;
  for (int i = 0; i < steps; ++i) {
    const at::Tensor t = timesteps_[i].expand({n}).to(device);
    const at::Tensor v = flow(x, t, chunk.first_frame, cancel);
    // The reference converts the flow to x0 in float64.
    x0 = (x.to(at::kDouble) - sigmas_[i].to(at::kDouble) * v.to(at::kDouble)).to(at::kFloat);
    if (on_step) on_step(chunk, i, x0);
    if (i + 1 < steps) {
      const at::Tensor s = sigmas_[i + 1];
      x = (1 - s) * x0 + s * noise.draw(chunk.first_frame, n, i, frame).to(device, at::kFloat);
    }
  }
  // The cache-update pass: the clean chunk's keys and values replace its noisy ones.
  flow(x0, at::full({n}, settings_.context_noise, timesteps_.options()).to(device), chunk.first_frame, cancel);
  chunk.latents = x0;
  next_frame_ += n;
  ++chunks_done_;
  return chunk;
}

at::Tensor CausalGenerator::generate(int64_t frames, CausalNoise& noise,
                                     const std::function<void(const CausalChunk&)>& on_chunk,
                                     const CancelToken* cancel) {
  int64_t total = 0;
  for (int64_t c = 0; total < frames; ++c) total += chunk_frames(c);
  if (frames < 1 || total != frames)
    throw Error("live mode: " + std::to_string(frames) + " latent frames are not a whole number of chunks (" +
                (settings_.independent_first_frame ? "1 + a multiple of " : "a multiple of ") +
                std::to_string(settings_.frames_per_chunk) + ")");
  reset();
  noise.reset();
  std::vector<at::Tensor> parts;
  while (next_frame_ < frames) {
    CausalChunk chunk = next_chunk(noise, cancel);
    if (on_chunk) on_chunk(chunk);
    parts.push_back(chunk.latents);
  }
  return at::cat(parts, 1);
}

}  // namespace wan
