// bench-dit: times one DiT forward pass on full-size random weights (the cost
// does not depend on the values) and reports peak device memory, as one JSON
// line per case. The reference is timed by reference_dit.py in the same call;
// tests/bench/run-gpu-bench.sh puts both in one table.
//
// usage: bench-dit [--model i2v-14B|t2v-14B|t2v-1.3B] [--size 832x480] [--frames 81]
//                  [--batch 1] [--iters 2] [--layers N] [--dtype bfloat16|float32]
//                  [--lora-rank R [--lora-mode runtime|merge]]
// --lora-rank puts a random LoRA of that rank on every Linear of the blocks and reports the
// time to merge or attach it (lora_apply_s); the forward then includes it.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/cuda.h>
#include <torch/nn/module.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#ifdef WAN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "models/dit/lora_adapters.h"
#include "models/dit/wan_model.h"

namespace {

wan::DiTConfig config_for(const std::string& model) {
  wan::DiTConfig c;
  if (model == "t2v-1.3B") {
    c.dim = 1536, c.ffn_dim = 8960, c.num_heads = 12, c.num_layers = 30, c.in_dim = 16;
  } else {
    c.dim = 5120, c.ffn_dim = 13824, c.num_heads = 40, c.num_layers = 40;
    c.in_dim = model == "i2v-14B" ? 36 : 16;
    c.model_type = model == "i2v-14B" ? wan::DiTModelType::I2V : wan::DiTModelType::T2V;
  }
  return c;
}

double peak_gib([[maybe_unused]] const at::Device& device) {
#ifdef WAN_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    return stats.allocated_bytes[0].peak / double(1 << 30);
  }
#endif
  return 0;
}

void reset_peak([[maybe_unused]] const at::Device& device) {
#ifdef WAN_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "i2v-14B", size = "832x480", dtype_name = "bfloat16";
  std::string lora_mode = "runtime";
  int frames = 81, batch = 1, iters = 2, layers = -1, lora_rank = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model")
      model = v;
    else if (k == "--size")
      size = v;
    else if (k == "--frames")
      frames = std::stoi(v);
    else if (k == "--batch")
      batch = std::stoi(v);
    else if (k == "--iters")
      iters = std::stoi(v);
    else if (k == "--layers")
      layers = std::stoi(v);
    else if (k == "--dtype")
      dtype_name = v;
    else if (k == "--lora-rank")
      lora_rank = std::stoi(v);
    else if (k == "--lora-mode")
      lora_mode = v;
    else {
      std::fprintf(stderr, "bench-dit: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const at::Device device = torch::cuda::is_available() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  const at::ScalarType dtype = dtype_name == "float32" ? at::kFloat : at::kBFloat16;
  c10::InferenceMode inference;

  wan::DiTConfig config = config_for(model);
  if (layers > 0) config.num_layers = layers;
  const auto t_build = std::chrono::steady_clock::now();
  wan::WanModel dit(config, at::TensorOptions().device(device).dtype(dtype), wan::ParameterInit::Uninitialized);
  for (auto& p : dit->parameters()) p.normal_(0, 0.02);
  const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_build).count();

  // A random LoRA of --lora-rank on every Linear of the blocks, merged or kept at run time.
  double lora_s = 0;
  std::shared_ptr<wan::RuntimeLoras> keep;
  if (lora_rank > 0) {
    wan::LoraFile lora;
    for (const auto& p : dit->named_parameters())
      if (p.key().rfind("blocks.", 0) == 0 && p.value().dim() == 2) {
        wan::LoraPatch patch;
        patch.down = at::randn({lora_rank, p.value().size(1)}) * 0.01;
        patch.up = at::randn({p.value().size(0), lora_rank}) * 0.01;
        lora.patches[p.key()] = patch;
      }
    if (device.is_cuda()) torch::cuda::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    if (lora_mode == "merge") {
      wan::merge_loras(*dit, {lora}, {1.0}, {}, device);
    } else {
      dit->runtime_loras = std::make_shared<wan::RuntimeLoras>(*dit, std::vector<wan::LoraFile>{lora}, device);
      dit->runtime_loras->set_strengths({1.0});
    }
    if (device.is_cuda()) torch::cuda::synchronize();
    lora_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // --size takes a comma-separated list: the model is built once for all of them.
  for (size_t start = 0; start < size.size();) {
    const size_t comma = std::min(size.find(',', start), size.size());
    const std::string one = size.substr(start, comma - start);
    start = comma + 1;
    const int width = std::stoi(one.substr(0, one.find('x'))), height = std::stoi(one.substr(one.find('x') + 1));
    const int64_t f = (frames - 1) / 4 + 1, h = height / 8, w = width / 8;
    const int64_t seq_len = f * h * w / 4;
    const auto opts = at::TensorOptions().device(device).dtype(at::kFloat);
    std::vector<at::Tensor> x, context, y;
    for (int b = 0; b < batch; ++b) {
      x.push_back(at::randn({16, f, h, w}, opts));
      context.push_back(at::randn({512, config.text_dim}, opts));
      if (config.has_image_input()) y.push_back(at::randn({config.in_dim - 16, f, h, w}, opts));
    }
    const at::Tensor clip = config.has_image_input() ? at::randn({batch, 257, 1280}, opts) : at::Tensor();
    const at::Tensor t = at::full({batch}, 999, opts.dtype(at::kLong));

    reset_peak(device);
    double best = 1e30;
    for (int i = 0; i <= iters; ++i) {  // the first pass warms up (allocator, cuDNN plans, RoPE tables)
      if (device.is_cuda()) torch::cuda::synchronize();
      const auto t0 = std::chrono::steady_clock::now();
      auto out = dit->forward(x, t, context, seq_len, clip, y);
      if (device.is_cuda()) torch::cuda::synchronize();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (i > 0) best = std::min(best, s);
    }
    std::printf(
        "{\"impl\": \"gst-wan\", \"model\": \"%s\", \"size\": \"%s\", \"frames\": %d, \"batch\": %d, \"layers\": %lld, "
        "\"tokens\": %lld, \"dtype\": \"%s\", \"forward_s\": %.4f, \"peak_gib\": %.2f, \"build_s\": %.1f, "
        "\"lora_rank\": %d, \"lora_mode\": \"%s\", \"lora_apply_s\": %.2f}\n",
        model.c_str(), one.c_str(), frames, batch, static_cast<long long>(config.num_layers),
        static_cast<long long>(seq_len), dtype_name.c_str(), best, peak_gib(device), build_s, lora_rank,
        lora_rank > 0 ? lora_mode.c_str() : "none", lora_s);
    std::fflush(stdout);
  }
  return 0;
}
