// The Pipeline of a Wan2.1 checkpoint folder (t2v, i2v or flf2v, read off the
// DiT's config): text encoding, image conditioning, the guided sampling loop
// and the streaming VAE decode, with the models taken from the process-wide
// registry.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "models/clip/clip_vision_encoder.h"
#include "models/dit/wan_model.h"
#include "models/t5/text_encoder.h"
#include "models/vae/wan_vae.h"
#include "models/weights/load_options.h"
#include "pipeline/checkpoint_folder.h"
#include "pipeline/denoise_loop.h"
#include "pipeline/model_registry.h"
#include "pipeline/pipeline.h"
#include "pipeline/video_geometry.h"

namespace wan {

// Optional observers of a generation's intermediates (reference tests,
// debugging); called on the generating thread.
struct GenerationTrace {
  std::function<void(const std::string& prompt, const std::string& negative_prompt)> on_prompts;
  std::function<void(const at::Tensor& context, const at::Tensor& context_null)> on_text;
  std::function<void(const at::Tensor& clip_context, const at::Tensor& y)> on_image;  // i2v / flf2v
  std::function<void(const at::Tensor& noise, const FlowScheduler& scheduler)> on_noise;
  std::function<void(const DenoiseStep& step)> on_step;
  std::function<void()> on_block;                           // after every DiT block, before the cancellation check
  std::function<void(const at::Tensor& video)> on_decoded;  // each decoded piece, [3, n, H, W] in [-1, 1]
  // Both guidance branches at every scale, as the official code runs them (1 and 0 otherwise
  // skip one), so that on_step sees both predictions.
  bool both_branches = false;
};

// Where each model lives and in which precision.
struct ModelPlacement {
  at::Device device = at::kCPU;    // where generation runs
  at::Device dit_home = at::kCPU;  // where the DiT rests between generations
  at::Device clip_home = at::kCPU;  // where CLIP rests between its encodes
  at::Device text_device = at::kCPU;
  at::ScalarType dit_dtype = at::kFloat;                       // matrix-heavy DiT layers
  bool dit_fp8 = false;                                        // the blocks' linear layers in fp8 e4m3 (dtype "fp8")
  SelfAttentionKind dit_attention = SelfAttentionKind::exact;  // the blocks' self-attention (attention)
  at::ScalarType text_dtype = at::kFloat;
  at::ScalarType clip_dtype = at::kFloat;
  at::ScalarType vae_dtype = at::kFloat;  // the reference's VAE always runs in float32
  bool text_encoder_per_request = false;  // Sequential: umT5 occupies the device only while encoding
  bool dit_block_swap = false;            // BlockSwap: DiT blocks stream from host memory
  bool batch_guidance = false;            // cond and uncond in one forward
  at::Device noise_device = at::kCPU;     // where the initial noise is drawn
};
ModelPlacement resolve_placement(const PipelineOptions& options);

// How the placement's DiT is loaded (compute device, fp8 modes) with its blocks resting on
// `home`, and what tells such a DiT apart in the registry beyond device and dtype.
LoadOptions dit_load_options(const ModelPlacement& placement, const at::Device& home);
std::string dit_variant_key(const ModelPlacement& placement);

// umT5's options for a checkpoint's files (text_len: the DiT's), on the placement's text device.
TextEncoderOptions text_encoder_options(const CheckpointFiles& files, int64_t text_len, const ModelPlacement& placement,
                                        const std::string& cache_dir);

// The process-wide umT5 for `options` (the registry's, loaded now): every pipeline over the
// same files, device, dtype and cache folder shares it.
std::shared_ptr<SharedModel<std::shared_ptr<TextEncoder>>> shared_text_encoder(const TextEncoderOptions& options);

class WanPipeline : public Pipeline {
 public:
  WanPipeline(const PipelineOptions& options, const std::function<void(const Progress&)>& on_progress);

  Task task() const override { return task_; }
  std::pair<int, int> output_size(const Request& request) const override;
  Request with_defaults(const Request& request) const override;
  GenerationResult generate(const Request& request, const GenerationCallbacks& callbacks,
                            const CancelToken& cancel) override;

  void set_trace(GenerationTrace trace) { trace_ = std::move(trace); }
  const ModelPlacement& placement() const { return placement_; }

 private:
  struct TextContexts {
    at::Tensor context, context_null;
  };
  // Makes dit_ the model carrying `loras` (loading it unless it is already shared).
  void use_loras(const std::vector<LoraSpec>& loras);
  TextContexts encode_text(const std::string& prompt, const std::string& negative_prompt, const CancelToken& cancel);
  DiTConditioning condition(const Request& request, const VideoGeometry& geometry, const CancelToken& cancel);
  at::Tensor sample(const Request& request, const VideoGeometry& geometry, const DiTConditioning& conditioning,
                    int64_t seed, const std::function<void(const Progress&)>& progress, const CancelToken& cancel,
                    GenerationResult* result, const PreviewCallbacks& preview = {});
  void decode(const at::Tensor& latent, const GenerationCallbacks& callbacks,
              const std::function<void(const Progress&)>& progress, const CancelToken& cancel);

  PipelineOptions options_;
  ModelPlacement placement_;
  Task task_ = Task::ImageToVideo;
  TextEncoderOptions text_options_;
  std::string dit_path_;
  std::vector<LoraSpec> loras_;  // what dit_ carries (strengths: this pipeline's, in run-time mode)
  std::shared_ptr<SharedModel<WanModel>> dit_;
  std::shared_ptr<SharedModel<std::shared_ptr<WanVAE>>> vae_;
  std::shared_ptr<SharedModel<std::shared_ptr<ClipVisionEncoder>>> clip_;  // i2v / flf2v
  std::shared_ptr<SharedModel<std::shared_ptr<TextEncoder>>> text_;        // absent when per request
  GenerationTrace trace_;
};

}  // namespace wan
