// The generation pipeline: loads a checkpoint folder once, then turns
// Requests into frames, streaming them out as the VAE decodes them.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <ATen/ATen.h>

#include "pipeline/preview.h"
#include "pipeline/request.h"

namespace wan {

enum class MemoryMode {
  Resident,        // every model on the device all the time
  Sequential,      // each model moved to the device only for its phase
  TextEncoderCpu,  // umT5 stays on the CPU, the rest resident
  BlockSwap,       // DiT blocks stream from pinned host memory
};

struct PipelineOptions {
  std::string model_path;      // checkpoint folder (official / diffusers layout) or file
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"
  // "auto" (bf16 on CUDA, fp32 on CPU), "float32", "bfloat16", "float16", or "fp8" (the fast
  // mode: bf16 with the DiT's block linear layers in e4m3; GPUs with fp8 tensor cores)
  std::string dtype = "auto";
  // The DiT's self-attention: "exact" (default), "fp8" (cuDNN's fp8 SDPA, Hopper and newer) or
  // "int8" (our 8-bit integer kernel, Hopper only); the 8-bit ones lossy, opt-in, with any CUDA
  // dtype, fp8 included
  std::string attention = "exact";
  std::string text_encoder_device;  // "" = same as device
  MemoryMode memory_mode = MemoryMode::Resident;
  std::string cache_dir;  // on-disk prompt-embedding cache; "" = memory only
  // Where the initial noise is drawn: "" = the generation device, as generate.py does (a
  // CUDA generator's numbers differ from the CPU's); "cpu" = the same noise on any device.
  std::string noise_device;
  // LoRAs loaded with the model (a request may ask for others later). Merged LoRAs make a
  // model of their own; run-time LoRAs share one model per set of files, and a request
  // that changes only their strengths reloads nothing.
  std::vector<LoraSpec> loras;
  LoraMode lora_mode = LoraMode::Merge;
};

enum class Phase { Load, Encode, Denoise, Decode };
const char* phase_name(Phase p);

struct Progress {
  Phase phase;
  int step = 0;  // denoising step (1-based) or decoded latent frame
  int total_steps = 0;
  double elapsed_s = 0;  // since the request started
  // Denoise: the DiT forwards so far, one per guidance branch and step (a batched cond + uncond
  // pass counts two), and how many of them reused a step cache's residual instead of running
  // the blocks (0 without caching).
  int forwards = 0, forwards_reused = 0;
};

// Set from any thread; checked at least between DiT blocks.
class CancelToken {
 public:
  void cancel() { cancelled_.store(true); }
  void reset() { cancelled_.store(false); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::atomic<bool> cancelled_{false};
};

// Thrown out of generate() when the token was cancelled.
struct Cancelled : std::exception {
  const char* what() const noexcept override { return "generation cancelled"; }
};

struct GenerationCallbacks {
  std::function<void(const Progress&)> on_progress;
  // frames: uint8 RGB [n, H, W, 3] on the CPU, contiguous; first = index of frames[0] in the clip.
  std::function<void(const at::Tensor& frames, int64_t first)> on_frames;
  // After every denoising step: the clip as that step predicts it (pipeline/preview.h).
  PreviewCallbacks preview;
};

struct GenerationResult {
  int64_t seed = 0;  // the seed used (drawn when the request's was negative)
  int width = 0, height = 0, num_frames = 0;
  int steps = 0;  // the sampling settings used (the task's defaults where the request set none)
  double shift = 0, guidance_scale = 0;
  std::vector<LoraSpec> loras;            // the LoRAs the DiT carried
  int forwards = 0, forwards_reused = 0;  // the clip's DiT forwards and reused ones (see Progress)
};

class Pipeline {
 public:
  // Loads (or shares, through the process-wide model registry) the models of
  // options.model_path. Throws wan::Error with a message a user can act on.
  static std::shared_ptr<Pipeline> load(const PipelineOptions& options,
                                        const std::function<void(const Progress&)>& on_progress = {});
  virtual ~Pipeline() = default;

  virtual Task task() const = 0;  // what the checkpoint does (i2v, flf2v or t2v)
  // The output size for a request (the reference's rounding from max_area and
  // the image aspect, or the explicit size), without generating.
  virtual std::pair<int, int> output_size(const Request& request) const = 0;
  // The request as it will run: unset sampling settings get the task's defaults for its size.
  virtual Request with_defaults(const Request& request) const = 0;
  virtual GenerationResult generate(const Request& request, const GenerationCallbacks& callbacks,
                                    const CancelToken& cancel) = 0;
};

}  // namespace wan
