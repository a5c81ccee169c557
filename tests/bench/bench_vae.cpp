// bench-vae: times the full-size Wan2.1 VAE (dim 96) with random weights (the
// cost does not depend on the values) or a checkpoint (--weights), and reports
// peak device memory, one JSON line per measurement:
//   encode        the i2v conditioning video (first frame, then zeros);
//   decode        all latent frames at once;
//   stream_first  until decode_streaming has handed out its first 1 + 4 frames
//                 (stream_total_s is the whole streamed decode).
// Each is timed --iters times after one warm-up call (first_call_s: the cold
// call, cuDNN autotuning included); the best time is reported. With --tiles,
// the decode line also gives tile_rel_l2: the tiled decode of a smooth
// synthetic video's latent against its untiled decode (meaningful with
// --weights only: random weights reach far beyond any tile).
//
// usage: bench-vae [--size 832x480,1280x720] [--frames 81] [--dtype float32|bfloat16]
//                  [--iters 2] [--tiles HxW:OVERLAP (latent units)] [--only encode|decode|stream]
//                  [--channels-last 1] [--cudnn-benchmark 0] [--weights Wan2.1_VAE.pth]
// peak_gib is the allocator's peak during the warm calls, first_call_peak_gib
// during the cold one, held_gib what was already allocated before them
// (weights, inputs); all 0 on the CPU.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>

#ifdef WAN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "models/vae/vae_config.h"
#include "models/vae/vae_loader.h"
#include "models/vae/wan_vae.h"
#include "models/vae/wan_vae_model.h"
#include "models/weights/tensor_map.h"

namespace {

struct Peak {
  double peak_gib = 0, before_gib = 0;  // before: weights and inputs already held
};

void reset_peak([[maybe_unused]] const at::Device& device) {
#ifdef WAN_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
}

double allocated_gib([[maybe_unused]] const at::Device& device, [[maybe_unused]] bool peak) {
#ifdef WAN_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    const auto& bytes = stats.allocated_bytes[0];
    return (peak ? bytes.peak : bytes.current) / double(1 << 30);
  }
#endif
  (void)peak;
  return 0;
}

void sync(const at::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The released architecture with random weights made on `device`: only the
// parameter shapes are taken from a model built on the CPU.
wan::TensorMap random_weights(const wan::vae::VAEConfig& config, const at::Device& device) {
  const wan::vae::WanVAEModel shapes(config);
  wan::TensorMap weights;
  const auto opts = at::TensorOptions().device(device).dtype(at::kFloat);
  for (const auto& p : shapes->named_parameters()) {
    const at::Tensor& t = p.value();
    at::Tensor w;
    if (p.key().find("gamma") != std::string::npos)
      w = at::ones(t.sizes(), opts);
    else if (t.dim() == 1)
      w = at::zeros(t.sizes(), opts);
    else  // fan-in scaled, so activations stay finite through the network
      w = at::randn(t.sizes(), opts) / std::sqrt(static_cast<double>(t.numel() / t.size(0)));
    weights[p.key()] = w;
  }
  return weights;
}

// Colour waves drifting over time: a latent with image-like structure.
at::Tensor smooth_video(int64_t frames, int64_t height, int64_t width, const at::Device& device) {
  const auto f32 = at::TensorOptions().device(device).dtype(at::kFloat);
  const at::Tensor t = at::linspace(0, 1, frames, f32).view({1, frames, 1, 1});
  const at::Tensor y = at::linspace(0, 1, height, f32).view({1, 1, height, 1});
  const at::Tensor x = at::linspace(0, 1, width, f32).view({1, 1, 1, width});
  const at::Tensor phase = at::arange(3, f32).view({3, 1, 1, 1});
  return at::sin(9 * x + 5 * y + 2 * t + phase) * at::cos(7 * y - 4 * x + phase) * 0.8;
}

double rel_l2(const at::Tensor& got, const at::Tensor& expected) {
  return ((got - expected).norm() / expected.norm()).item<double>();
}

struct Options {
  std::vector<std::string> sizes = {"832x480", "1280x720"};
  int frames = 81, iters = 2;
  std::string dtype = "float32", tiles, only, weights;
  bool channels_last = true, cudnn_benchmark = wan::VAEDeviceTuning{}.cudnn_benchmark;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) parts.push_back(part);
  return parts;
}

wan::DecodeOptions decode_options(const std::string& tiles) {
  wan::DecodeOptions o;
  if (tiles.empty() || tiles == "none") return o;
  const auto colon = tiles.find(':'), x = tiles.find('x');
  o.tile_latent_h = std::stoll(tiles.substr(0, x));
  o.tile_latent_w = std::stoll(tiles.substr(x + 1, colon - x - 1));
  o.overlap = colon == std::string::npos ? 0 : std::stoll(tiles.substr(colon + 1));
  return o;
}

// Calls `fn` once cold and `iters` times warm; `fn` returns the seconds to
// report and may add JSON fields. Prints one JSON line with the best time, the
// warm calls' peak memory and the cold call's (cuDNN autotuning included).
void measure(const std::string& op, const std::string& size, const Options& o, const at::Device& device,
             const std::function<double(std::string& extra)>& fn) {
  double best = 1e30, first = 0, peak = 0, first_peak = 0, held = 0;
  std::string extra;
  for (int i = 0; i <= o.iters; ++i) {
    sync(device);
    reset_peak(device);
    held = allocated_gib(device, false);
    std::string e;
    const double s = fn(e);
    if (i == 0) {
      first = s;
      first_peak = allocated_gib(device, true);
      if (o.iters == 0) best = s, extra = e, peak = first_peak;
    } else {
      if (s < best) best = s, extra = e;
      peak = std::max(peak, allocated_gib(device, true));
    }
  }
  std::printf(
      "{\"impl\": \"gst-wan\", \"component\": \"vae\", \"op\": \"%s\", \"size\": \"%s\", \"frames\": %d, "
      "\"dtype\": \"%s\", \"tiles\": \"%s\", \"channels_last\": %s, \"cudnn_benchmark\": %s, \"time_s\": %.4f, "
      "\"first_call_s\": %.4f, \"peak_gib\": %.2f, \"first_call_peak_gib\": %.2f, \"held_gib\": %.2f%s}\n",
      op.c_str(), size.c_str(), o.frames, o.dtype.c_str(), o.tiles.empty() ? "none" : o.tiles.c_str(),
      o.channels_last ? "true" : "false", o.cudnn_benchmark ? "true" : "false", best, first, peak, first_peak, held,
      extra.c_str());
  std::fflush(stdout);
}

// Times `fn` from its start to the device's completion.
double timed(const at::Device& device, const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  sync(device);
  return seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--size")
      o.sizes = split(v, ',');
    else if (k == "--frames")
      o.frames = std::stoi(v);
    else if (k == "--iters")
      o.iters = std::stoi(v);
    else if (k == "--dtype")
      o.dtype = v;
    else if (k == "--tiles")
      o.tiles = v;
    else if (k == "--only")
      o.only = v;
    else if (k == "--weights")
      o.weights = v;
    else if (k == "--channels-last")
      o.channels_last = v != "0";
    else if (k == "--cudnn-benchmark")
      o.cudnn_benchmark = v != "0";
    else {
      std::fprintf(stderr, "bench-vae: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.frames < 1 || o.frames % 4 != 1 || (o.dtype != "float32" && o.dtype != "bfloat16")) {
    std::fprintf(stderr, "bench-vae: --frames must be 4n + 1 and --dtype float32 or bfloat16\n");
    return 2;
  }
  const at::Device device = torch::cuda::is_available() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  const at::ScalarType dtype = o.dtype == "bfloat16" ? at::kBFloat16 : at::kFloat;
  c10::InferenceMode inference;

  const auto t_build = std::chrono::steady_clock::now();
  wan::WanVAE vae = o.weights.empty()
                        ? wan::WanVAE(wan::vae::VAEConfig(), random_weights(wan::vae::VAEConfig(), device), device,
                                      dtype, "random VAE weights")
                        : wan::load_vae(o.weights, wan::LoadOptions{device, dtype});
  const wan::vae::VAEConfig& config = vae.config();
  vae.set_device_tuning({o.channels_last, o.cudnn_benchmark});
  sync(device);
  std::fprintf(stderr, "bench-vae: built on %s in %.1f s\n", device.str().c_str(), seconds_since(t_build));
  const wan::DecodeOptions tiling = decode_options(o.tiles);

  const auto f32 = at::TensorOptions().device(device).dtype(at::kFloat);
  for (const std::string& size : o.sizes) {
    const auto x = size.find('x');
    const int64_t width = std::stoll(size.substr(0, x)), height = std::stoll(size.substr(x + 1));
    const int64_t latent_frames = (o.frames - 1) / 4 + 1;

    if (o.only.empty() || o.only == "encode") {
      at::Tensor video = at::zeros({3, o.frames, height, width}, f32);
      video.narrow(1, 0, 1).uniform_(-1, 1);
      measure("encode", size, o, device, [&](std::string&) { return timed(device, [&] { vae.encode(video); }); });
    }
    const at::Tensor latent = at::randn({config.z_dim, latent_frames, height / 8, width / 8}, f32);
    if (o.only.empty() || o.only == "decode") {
      std::string tile_error;
      if (tiling.tiled()) {
        const at::Tensor smooth = vae.encode(smooth_video(o.frames, height, width, device));
        const double err = rel_l2(vae.decode(smooth, tiling), vae.decode(smooth));
        tile_error = ", \"tile_rel_l2\": " + std::to_string(err);
      }
      measure("decode", size, o, device, [&](std::string& extra) {
        extra = tile_error;
        return timed(device, [&] { vae.decode(latent, tiling); });
      });
    }
    if (o.only.empty() || o.only == "stream") {
      measure("stream_first", size, o, device, [&](std::string& extra) {
        const auto t0 = std::chrono::steady_clock::now();
        int pieces = 0;
        double first = 0;
        vae.decode_streaming(
            latent,
            [&](const at::Tensor&) {
              if (++pieces == 2) {
                sync(device);
                first = seconds_since(t0);
              }
            },
            tiling);
        sync(device);
        char buf[64];
        std::snprintf(buf, sizeof buf, ", \"stream_total_s\": %.4f", seconds_since(t0));
        extra = buf;
        return first;
      });
    }
  }
  return 0;
}
