// bench-dit: times one DiT forward pass on full-size random weights (the cost
// does not depend on the values) and reports peak device memory, as one JSON
// line per case. The reference is timed by reference_dit.py in the same call;
// tests/bench/run-gpu-bench.sh puts both in one table.
//
// usage: bench-dit [--model i2v-14B|t2v-14B|t2v-1.3B] [--size 832x480] [--frames 81]
//                  [--batch 1] [--iters 2] [--layers N] [--dtype bfloat16|float32|fp8]
//                  [--lora-rank R [--lora-mode runtime|merge]] [--attention exact|fp8|int8]
// --lora-rank puts a random LoRA of that rank on every Linear of the blocks and reports the
// time to merge or attach it (lora_apply_s); the forward then includes it.
// --dtype fp8 quantises the blocks' linear layers after a bf16 forward per size and adds the
// fp8 output's relative L2 against that bf16 output and against the plain libtorch fp8
// quantisation, and one block's linear-layer time in fp8 and in bf16 at the first size.
// --attention fp8 or int8 runs the self-attention in 8 bits (alone or with --dtype fp8), likewise
// after a bf16 forward per size, and adds the relative L2 against it.
// Every line also gives the cost of one step's live preview of a latent of that size
// (preview_latent_ms, preview_full_ms: at latent resolution and x8; preview_taew21_ms: x8
// through TAEW2.1, random weights of its shapes).
#include <unistd.h>

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

#include "models/cuda/fp8_ops.h"
#include "models/dit/dit_block.h"
#include "models/dit/lora_adapters.h"
#include "models/dit/wan_model.h"
#include "models/weights/safetensors.h"
#include "pipeline/preview.h"
#include "tests/common/random_taehv.h"

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

// `run` timed after one warm-up call, best of 5 in milliseconds, the device synchronised.
template <typename Fn>
double best_ms(Fn&& run, const at::Device& device) {
  run();
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    if (device.is_cuda()) torch::cuda::synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    run();
    if (device.is_cuda()) torch::cuda::synchronize();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// The linear layers of one block at `tokens` tokens, as the forward runs them (self-attention
// q/k/v and o, cross-attention q and o, the FFN with its GELU; activations quantised where
// the block is fp8), in milliseconds. The cross-attention k/v run on the 512+257 context
// tokens and are left out, as in gpu-host.md's table.
double block_linear_ms(wan::dit::DiTBlockImpl& block, int64_t tokens, const at::Device& device) {
  const int64_t dim = block.self_attn->o->in_features;
  const at::Tensor x = at::randn({1, tokens, dim}, at::TensorOptions().device(device).dtype(at::kBFloat16));
  return best_ms(
      [&] {
        block.self_attn->project_qkv(x);
        block.self_attn->o->project(x);
        block.cross_attn->q->project(x);
        block.cross_attn->o->project(x);
        block.feed_forward(x);
      },
      device);
}

// One step's live preview of a latent of this size (pipeline/preview.h: the linear map at
// latent resolution, or x8) in milliseconds, the copy to the host included.
double preview_ms(const at::Tensor& latent, int scale, const at::Device& device,
                  const wan::PreviewDecoder* decoder = nullptr) {
  return best_ms([&] { wan::render_preview(latent, scale, decoder); }, device);
}

// TAEW2.1 with random weights (its cost does not depend on them), through a file as users load it.
std::shared_ptr<const wan::PreviewDecoder> random_preview_decoder(const at::Device& device) {
  const std::string path = "/tmp/bench-dit-taew2_1-" + std::to_string(::getpid()) + ".safetensors";
  wan::save_safetensors(path, wan::test::random_taehv_weights(1));
  auto decoder = wan::PreviewDecoder::load(path, device);
  std::remove(path.c_str());
  return decoder;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "i2v-14B", size = "832x480", dtype_name = "bfloat16";
  std::string lora_mode = "runtime", attention = "exact";
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
    else if (k == "--attention")
      attention = v;
    else {
      std::fprintf(stderr, "bench-dit: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const at::Device device = torch::cuda::is_available() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  const at::ScalarType dtype = dtype_name == "float32" ? at::kFloat : at::kBFloat16;
  const bool fp8 = dtype_name == "fp8", eight_bit_attention = attention != "exact";
  const wan::SelfAttentionKind attention_kind = attention == "fp8"    ? wan::SelfAttentionKind::fp8
                                                : attention == "int8" ? wan::SelfAttentionKind::int8
                                                                      : wan::SelfAttentionKind::exact;
  if (attention_kind == wan::SelfAttentionKind::exact && attention != "exact") {
    std::fprintf(stderr, "bench-dit: --attention must be exact, fp8 or int8, not %s\n", attention.c_str());
    return 2;
  }
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
      dit->set_lora_strengths({1.0});
    }
    if (device.is_cuda()) torch::cuda::synchronize();
    lora_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // --size takes a comma-separated list: the model is built once for all of them.
  std::vector<std::string> sizes;
  for (size_t start = 0; start < size.size();) {
    const size_t comma = std::min(size.find(',', start), size.size());
    sizes.push_back(size.substr(start, comma - start));
    start = comma + 1;
  }
  // The same random inputs for a size every time they are drawn.
  struct Inputs {
    std::vector<at::Tensor> x, context, y;
    at::Tensor clip, t;
    int64_t seq_len;
  };
  auto inputs_for = [&](const std::string& one) {
    const int width = std::stoi(one.substr(0, one.find('x'))), height = std::stoi(one.substr(one.find('x') + 1));
    const int64_t f = (frames - 1) / 4 + 1, h = height / 8, w = width / 8;
    Inputs in;
    in.seq_len = f * h * w / 4;
    const auto opts = at::TensorOptions().device(device).dtype(at::kFloat);
    at::manual_seed(1234);
    for (int b = 0; b < batch; ++b) {
      in.x.push_back(at::randn({16, f, h, w}, opts));
      in.context.push_back(at::randn({512, config.text_dim}, opts));
      if (config.has_image_input()) in.y.push_back(at::randn({config.in_dim - 16, f, h, w}, opts));
    }
    in.clip = config.has_image_input() ? at::randn({batch, 257, 1280}, opts) : at::Tensor();
    in.t = at::full({batch}, 999, opts.dtype(at::kLong));
    return in;
  };
  auto run = [&](const Inputs& in) { return dit->forward(in.x, in.t, in.context, in.seq_len, in.clip, in.y)[0]; };
  auto rel_l2 = [](const at::Tensor& a, const at::Tensor& b) {
    return ((a.to(at::kFloat) - b.to(at::kFloat)).norm() / b.to(at::kFloat).norm()).item<double>();
  };

  // fp8: the bf16 model's outputs first, then the blocks' linear layers quantised; each
  // forward is compared with the bf16 one and with the plain libtorch quantisation's.
  std::vector<at::Tensor> bf16_out;
  double linear_bf16_ms = 0;
  if (fp8 || eight_bit_attention) {
    for (const auto& one : sizes) bf16_out.push_back(run(inputs_for(one)));
    linear_bf16_ms = block_linear_ms(*dit->blocks[0]->as<wan::dit::DiTBlock>(), inputs_for(sizes[0]).seq_len, device);
    if (fp8) dit->quantize_fp8(device);
    dit->set_self_attention(attention_kind);
  }

  // fp8 fidelity: against the bf16 forward, and against the same fp8 weights with the
  // activations quantised by plain libtorch operations (amax, divide, cast).
  auto fidelity_report = [&](size_t index) {
    const Inputs in = inputs_for(sizes[index]);
    const at::Tensor fused = run(in);
    char text[320];
    if (!fp8) {
      std::snprintf(text, sizeof text, ", \"rel_l2_vs_bf16\": %.4g", rel_l2(fused, bf16_out[index]));
      return std::string(text);
    }
    // The same forward again: how far two runs of one implementation differ, the floor under
    // the comparison with the plain quantisation.
    const at::Tensor rerun = run(in);
    wan::cuda::set_fp8_quantizer(wan::cuda::Fp8Quantizer::Reference);
    const at::Tensor plain = run(in);
    wan::cuda::set_fp8_quantizer(wan::cuda::Fp8Quantizer::Fused);
    std::snprintf(text, sizeof text,
                  ", \"rel_l2_vs_bf16\": %.4g, \"rel_l2_vs_plain_fp8\": %.4g, \"rel_l2_vs_rerun\": %.4g, "
                  "\"block_linear_ms\": %.2f, \"block_linear_bf16_ms\": %.2f",
                  rel_l2(fused, bf16_out[index]), rel_l2(fused, plain), rel_l2(fused, rerun),
                  index == 0 ? block_linear_ms(*dit->blocks[0]->as<wan::dit::DiTBlock>(), in.seq_len, device) : 0.0,
                  index == 0 ? linear_bf16_ms : 0.0);
    return std::string(text);
  };

  for (size_t index = 0; index < sizes.size(); ++index) {
    const std::string& one = sizes[index];
    const Inputs in = inputs_for(one);
    const int64_t seq_len = in.seq_len;

    reset_peak(device);
    double best = 1e30;
    for (int i = 0; i <= iters; ++i) {  // the first pass warms up (allocator, cuDNN plans, RoPE tables)
      if (device.is_cuda()) torch::cuda::synchronize();
      const auto t0 = std::chrono::steady_clock::now();
      auto out = run(in);
      if (device.is_cuda()) torch::cuda::synchronize();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (i > 0) best = std::min(best, s);
    }
    std::printf(
        "{\"impl\": \"gst-wan\", \"model\": \"%s\", \"size\": \"%s\", \"frames\": %d, \"batch\": %d, \"layers\": %lld, "
        "\"tokens\": %lld, \"dtype\": \"%s\", \"attention\": \"%s\", \"forward_s\": %.4f, \"peak_gib\": %.2f, "
        "\"build_s\": %.1f, "
        "\"lora_rank\": %d, \"lora_mode\": \"%s\", \"lora_apply_s\": %.2f, \"preview_latent_ms\": %.2f, "
        "\"preview_full_ms\": %.2f, \"preview_taew21_ms\": %.2f%s}\n",
        model.c_str(), one.c_str(), frames, batch, static_cast<long long>(config.num_layers),
        static_cast<long long>(seq_len), dtype_name.c_str(), attention.c_str(), best, peak_gib(device), build_s,
        lora_rank, lora_rank > 0 ? lora_mode.c_str() : "none", lora_s, preview_ms(in.x[0], 1, device),
        preview_ms(in.x[0], 8, device), preview_ms(in.x[0], 8, device, random_preview_decoder(device).get()),
        fp8 || eight_bit_attention ? fidelity_report(index).c_str() : "");
    std::fflush(stdout);
  }
  return 0;
}
