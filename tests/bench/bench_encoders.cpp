// bench-encoders: times the conditioning encoders at full size with random
// weights on the device (the cost does not depend on the values): umT5-XXL on
// one 512-token prompt (bf16, as released) and the CLIP ViT-H/14 tower on one
// image (fp16, as released). One JSON line each, with peak device memory.
//
// usage: bench-encoders [ITERS] [--layers N]   (--layers: a smoke run with N layers in each encoder)
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>

#ifdef WAN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "models/clip/clip_vision_encoder.h"
#include "models/clip/vision_transformer.h"
#include "models/t5/t5_encoder.h"

namespace {

const at::Device kDevice = torch::cuda::is_available() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);

void sync() {
  if (kDevice.is_cuda()) torch::cuda::synchronize();
}

double peak_gib() {
#ifdef WAN_WITH_CUDA
  if (kDevice.is_cuda())
    return c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].peak / double(1 << 30);
#endif
  return 0;
}

void reset_peak() {
#ifdef WAN_WITH_CUDA
  if (kDevice.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(0);
#endif
}

// Best of `iters` timed calls after one warm-up call.
double best_seconds(const std::function<void()>& fn, int iters) {
  fn();
  sync();
  double best = 1e30;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    sync();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int iters = 3;
  int64_t layers = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--layers" && i + 1 < argc)
      layers = std::stoll(argv[++i]);
    else
      iters = std::stoi(arg);
  }
  wan::T5Config t5_config;
  wan::ClipVisionConfig clip_config;
  if (layers > 0) t5_config.num_layers = clip_config.num_layers = layers;
  c10::InferenceMode inference;

  {
    const auto t0 = std::chrono::steady_clock::now();
    wan::T5Encoder t5(t5_config, at::TensorOptions().device(kDevice).dtype(at::kBFloat16),
                      wan::ParameterInit::Uninitialized);
    for (auto& p : t5->parameters()) p.normal_(0, 0.02);
    const double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const at::Tensor ids = at::randint(2, 256384, {1, 512}, at::TensorOptions().device(kDevice).dtype(at::kLong));
    const at::Tensor mask = at::ones({1, 512}, ids.options());
    reset_peak();
    const double s = best_seconds([&] { t5->forward(ids, mask); }, iters);
    std::printf(
        "{\"impl\": \"gst-wan\", \"component\": \"umt5-xxl\", \"tokens\": 512, \"dtype\": \"bfloat16\", "
        "\"time_s\": %.4f, \"peak_gib\": %.2f, \"build_s\": %.1f}\n",
        s, peak_gib(), build_s);
    std::fflush(stdout);
  }
  {
    wan::VisionTransformer tower(clip_config, at::TensorOptions().device(kDevice).dtype(at::kHalf),
                                 wan::ParameterInit::Uninitialized);
    for (auto& p : tower->parameters()) p.normal_(0, 0.02);
    wan::ClipVisionEncoder clip(tower, kDevice, at::kHalf);
    const at::Tensor image = at::rand({3, 1, 480, 832}, at::TensorOptions().device(kDevice)) * 2 - 1;
    reset_peak();
    const double s = best_seconds([&] { clip.encode_video({image}); }, iters);
    std::printf(
        "{\"impl\": \"gst-wan\", \"component\": \"clip-vit-h-14\", \"images\": 1, \"dtype\": \"float16\", "
        "\"time_s\": %.4f, \"peak_gib\": %.2f}\n",
        s, peak_gib());
  }
  return 0;
}
