// kind "e2e-i2v": the whole image-to-video run as a user makes it: the
// pipeline loads the checkpoint folder, the input image is read from its
// file, and every intermediate the pipeline reports is compared, down to the
// 8-bit frames it streams out.
#include <c10/core/GradMode.h>

#include "models/t5/tokenizer.h"
#include "pipeline/image_file.h"
#include "pipeline/names.h"
#include "pipeline/video_frames.h"
#include "pipeline/wan_pipeline.h"
#include "tests/parity/parity_case.h"

namespace wan::parity {
namespace {

void run(const ParityCase& c, ParityReport& report) {
  c10::AutoGradMode no_grad(false);
  const auto& args = c.args();

  PipelineOptions options;
  options.model_path = c.file("ckpt").string();
  options.device = c.device().str();
  options.noise_device = "cpu";  // the reference drew its noise on the CPU
  options.dtype = "float32";
  WanPipeline pipeline(options, {});

  Request request;
  request.image = read_image_file((c.dir() / args.at("image-location").get<std::string>()).string());
  const at::Tensor decoded =
      at::from_blob(request.image->pixels.data(), {request.image->height, request.image->width, 3}, at::kByte);
  report.compare("in.image (decoded input file)", decoded, c.tensor("in.image"));
  request.prompt = args.at("prompt").get<std::string>();
  request.negative_prompt = args.at("negative-prompt").get<std::string>();
  request.seed = args.at("seed").get<int64_t>();
  request.num_frames = args.at("num-frames").get<int>();
  request.steps = args.at("steps").get<int>();
  request.guidance_scale = args.at("guidance-scale").get<double>();
  request.shift = args.at("shift").get<double>();
  request.solver = parse_solver(args.at("solver").get<std::string>());
  request.max_area = args.at("max-area").get<int64_t>();

  const auto size = pipeline.output_size(request);
  report.check("width x height",
               size.first == args.at("width").get<int>() && size.second == args.at("height").get<int>(),
               std::to_string(size.first) + "x" + std::to_string(size.second));

  std::vector<std::string> prompts;
  at::Tensor context, context_null, clip_context, y, noise, timesteps, sigmas;
  std::vector<at::Tensor> conds, unconds, latents, video, frames;
  GenerationTrace trace;
  trace.on_prompts = [&](const std::string& p, const std::string& n) { prompts = {p, n}; };
  trace.on_text = [&](const at::Tensor& a, const at::Tensor& b) { context = a, context_null = b; };
  trace.on_image = [&](const at::Tensor& a, const at::Tensor& b) { clip_context = a, y = b; };
  trace.on_noise = [&](const at::Tensor& n, const FlowScheduler& s) {
    noise = n, timesteps = s.timesteps(), sigmas = s.sigmas();
  };
  trace.on_step = [&](const DenoiseStep& s) {
    conds.push_back(s.prediction->cond), unconds.push_back(s.prediction->uncond), latents.push_back(s.latent);
  };
  trace.on_decoded = [&](const at::Tensor& piece) { video.push_back(piece); };
  trace.both_branches = true;  // the reference runs both at every guidance scale
  pipeline.set_trace(trace);

  GenerationCallbacks callbacks;
  int64_t next_frame = 0;
  bool in_order = true;
  callbacks.on_frames = [&](const at::Tensor& f, int64_t first) {
    in_order = in_order && first == next_frame;
    next_frame += f.size(0);
    frames.push_back(f.clone());
  };
  CancelToken cancel;
  const GenerationResult result = pipeline.generate(request, callbacks, cancel);
  report.check("seed", result.seed == request.seed, std::to_string(result.seed));
  report.check("frames streamed in order", in_order, std::to_string(frames.size()) + " pieces");

  const T5Tokenizer tokenizer((c.file("ckpt") / "google/umt5-xxl/spiece.model").string(), 512);
  const TokenizedPrompts tokens = tokenizer.encode(prompts);
  report.compare("out.ids", tokens.ids, c.tensor("out.ids"));
  report.compare("out.mask", tokens.mask, c.tensor("out.mask"));
  report.compare("out.context", context, c.tensor("out.context"));
  report.compare("out.context_null", context_null, c.tensor("out.context_null"));
  report.compare("out.clip_context", clip_context, c.tensor("out.clip_context"));
  report.compare("out.y", y, c.tensor("out.y"));
  report.compare("out.noise", noise, c.tensor("out.noise"));
  report.compare("out.timesteps", timesteps, c.tensor("out.timesteps"));
  report.compare("out.sigmas", sigmas, c.tensor("out.sigmas"));
  report.compare("out.noise_pred_cond", at::stack(conds), c.tensor("out.noise_pred_cond"));
  report.compare("out.noise_pred_uncond", at::stack(unconds), c.tensor("out.noise_pred_uncond"));
  report.compare("out.latents", at::stack(latents), c.tensor("out.latents"));
  report.compare("out.video", at::cat(video, 1), c.tensor("out.video"));

  // The conversion itself is exact on the reference video; on ours a value
  // may land on the other side of a truncation boundary.
  const at::Tensor expected = c.tensor("out.frames");
  report.compare("out.frames (from out.video)", video_to_rgb_frames(c.tensor("out.video")), expected);
  const at::Tensor got = at::cat(frames);
  if (got.sizes() != expected.sizes()) {
    report.compare("out.frames", got, expected);  // reports the shape mismatch
    return;
  }
  const at::Tensor diff = (got.to(at::kCPU, at::kInt) - expected.to(at::kCPU, at::kInt)).abs();
  const int64_t max_diff = diff.max().item<int64_t>();
  const double off = diff.gt(0).to(at::kDouble).mean().item<double>();
  report.check("out.frames", max_diff <= 1 && off <= 0.01,
               "max |diff| " + std::to_string(max_diff) + ", " + std::to_string(off * 100) + "% off by one");
}

ParityKind reg("e2e-i2v", run);

}  // namespace
}  // namespace wan::parity
