// The fp8 fast mode: the one-pass activation quantisation against the plain libtorch one
// (same scales, same codes but for rare ties), the e4m3 GEMM against bf16, a tiny DiT in fp8
// against bf16 (with LoRAs merged and at run time, and with block swap), fp8 checkpoints
// loaded as stored, the load's device memory, and the errors a user gets asking for fp8
// where it cannot run. The GPU parts are skipped (exit 77) without a GPU with fp8 tensor
// cores or without our kernels in the build.
//   test-fp8 FIXTURES_DIR
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <utility>

#include <torch/version.h>

#ifdef WAN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "models/cuda/fp8_attention.h"
#include "models/cuda/fp8_ops.h"
#include "models/cuda/int8_attention.h"
#include "models/dit/dit_loader.h"
#include "models/dit/fp8_load.h"
#include "models/dit/wan_model.h"
#include "models/weights/safetensors.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

fs::path fixtures;

double rel_l2(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.to(at::kDouble), y = b.to(at::kDouble);
  return ((x - y).norm() / y.norm()).item<double>();
}

void fp8_refused_where_it_cannot_run() {
  wan::LoadOptions cpu;
  cpu.fp8_linear = true;
  EXPECT_ERROR(wan::load_dit((fixtures / "dit-t2v-tiny" / "weights.safetensors").string(), cpu), "dtype fp8");
  // The 8-bit attentions alike, with the reason (cuda/fp8_attention.h's, cuda/int8_attention.h's)
  // in the message.
  wan::LoadOptions attention;
  attention.self_attention = wan::SelfAttentionKind::fp8;
  std::string why;
  EXPECT(!wan::cuda::fp8_attention_available(attention.compute(), &why));
  EXPECT_ERROR(wan::load_dit((fixtures / "dit-t2v-tiny" / "weights.safetensors").string(), attention),
               "attention fp8: " + why);
  attention.self_attention = wan::SelfAttentionKind::int8;
  EXPECT(!wan::cuda::int8_attention_available(attention.compute(), &why));
  EXPECT(!why.empty());
  EXPECT_ERROR(wan::load_dit((fixtures / "dit-t2v-tiny" / "weights.safetensors").string(), attention),
               "attention int8: " + why);
}

// The kernel and the reference quantise the same values (bias added, GELU applied), from
// rows that are strided (a third of a fused qkv output) or not.
void quantization_matches_the_reference() {
  const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  const at::Tensor wide = at::randn({3, 77, 3 * 96}, opts) * 4;
  const at::Tensor strided = wide.chunk(3, -1)[1];
  const at::Tensor bias = at::randn({96}, opts);
  for (const bool gelu : {false, true})
    for (const at::Tensor& b : {at::Tensor(), bias}) {
      const wan::cuda::Fp8Rows fused = wan::cuda::quantize_rows_e4m3(strided, b, gelu);
      wan::cuda::set_fp8_quantizer(wan::cuda::Fp8Quantizer::Reference);
      const wan::cuda::Fp8Rows plain = wan::cuda::quantize_rows_e4m3(strided, b, gelu);
      wan::cuda::set_fp8_quantizer(wan::cuda::Fp8Quantizer::Fused);
      EXPECT(fused.values.element_size() == 1 && fused.values.sizes() == plain.values.sizes());
      EXPECT(fused.sizes == strided.sizes().vec());
      // The same arithmetic to the bit (scale = amax * (1/448), IEEE division, round to nearest
      // even); GELU's tanh may differ in its last bit from libtorch's.
      const double differ =
          (fused.values.to(at::kFloat) != plain.values.to(at::kFloat)).to(at::kFloat).mean().item<double>();
      if (gelu) {
        EXPECT_MSG(rel_l2(fused.scales, plain.scales) < 1e-6, std::to_string(rel_l2(fused.scales, plain.scales)));
        EXPECT_MSG(differ < 1e-3, "codes differing: " + std::to_string(differ));
      } else {
        EXPECT_MSG(at::equal(fused.scales, plain.scales), std::to_string(rel_l2(fused.scales, plain.scales)));
        EXPECT_MSG(differ == 0, "codes differing: " + std::to_string(differ));
      }
      // Back to bf16: within e4m3's resolution of the input.
      at::Tensor want = b.defined() ? (strided + b) : strided;
      if (gelu) want = at::gelu(want.to(at::kFloat), "tanh");
      const double error = rel_l2(wan::cuda::dequantize_rows(fused), want);
      EXPECT_MSG(error < 0.05, "dequantised: " + std::to_string(error));
    }
  // At a block's FFN width: how many codes the kernel and the reference round differently
  // (printed, for the forward-level comparison with plain fp8 in bench-dit).
  const at::Tensor fc1_out = at::randn({4096, 13824}, opts) * 3;
  const at::Tensor fc1_bias = at::randn({13824}, opts) * 0.1;
  for (const bool gelu : {false, true}) {
    const wan::cuda::Fp8Rows fused = wan::cuda::quantize_rows_e4m3(fc1_out, fc1_bias, gelu);
    wan::cuda::set_fp8_quantizer(wan::cuda::Fp8Quantizer::Reference);
    const wan::cuda::Fp8Rows plain = wan::cuda::quantize_rows_e4m3(fc1_out, fc1_bias, gelu);
    wan::cuda::set_fp8_quantizer(wan::cuda::Fp8Quantizer::Fused);
    const at::Tensor differ = fused.values.view(at::kByte) != plain.values.view(at::kByte);
    std::printf("quantise 4096x13824 (bias%s): %lld codes of %lld differ, scales equal: %s\n", gelu ? ", GELU" : "",
                static_cast<long long>(differ.sum().item<int64_t>()), static_cast<long long>(differ.numel()),
                at::equal(fused.scales, plain.scales) ? "yes" : "no");
  }
  // A row of zeros stays zeros (finite scale).
  const wan::cuda::Fp8Rows zeros = wan::cuda::quantize_rows_e4m3(at::zeros({4, 32}, opts));
  EXPECT(at::isfinite(zeros.scales).all().item<bool>() && zeros.values.to(at::kFloat).abs().max().item<float>() == 0);
}

void gemm_matches_bf16() {
  const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  const at::Tensor x = at::randn({2, 100, 128}, opts), w = at::randn({64, 128}, opts) * 0.05;
  const at::Tensor bias = at::randn({64}, opts);
  const auto [values, scales] = wan::cuda::quantize_weight_e4m3(w, w.device());
  // A weight kept on the host (block swap) is quantised on the GPU and comes back to the host.
  const auto [host_values, host_scales] = wan::cuda::quantize_weight_e4m3(w.cpu(), w.device());
  EXPECT(host_values.device().is_cpu() && host_scales.device().is_cpu());
  EXPECT(host_values.view(at::kByte).equal(values.cpu().view(at::kByte)) && host_scales.equal(scales.cpu()));
  const at::Tensor got = wan::cuda::fp8_linear(wan::cuda::quantize_rows_e4m3(x), values, scales, bias);
  EXPECT(got.sizes() == at::IntArrayRef({2, 100, 64}) && got.scalar_type() == at::kBFloat16);
  const at::Tensor want = at::linear(x.to(at::kFloat), w.to(at::kFloat), bias.to(at::kFloat));
  EXPECT_MSG(rel_l2(got, want) < 0.06, std::to_string(rel_l2(got, want)));
}

std::vector<at::Tensor> forward(wan::WanModelImpl& model) {
  c10::AutoGradMode no_grad(false);
  at::manual_seed(7);
  const auto opts = at::TensorOptions().device(at::kCUDA);
  const at::Tensor x = at::randn({16, 2, 4, 4}, opts), context = at::randn({6, model.config().text_dim}, opts);
  return model.forward({x}, at::full({1}, 500.0, opts), {context}, 8);
}

wan::LoadOptions cuda_options(bool fp8) {
  wan::LoadOptions options(at::Device(at::kCUDA, 0), at::kBFloat16);
  options.fp8_linear = fp8;
  return options;
}

void tiny_dit_in_fp8() {
  const std::string weights = (fixtures / "dit-t2v-tiny" / "weights.safetensors").string();
  const std::string lora = (fixtures / "dit-lora-kohya" / "lora0.safetensors").string();
  wan::WanModel bf16 = wan::load_dit(weights, cuda_options(false));
  wan::WanModel fp8 = wan::load_dit(weights, cuda_options(true));
  const at::Tensor want = forward(*bf16)[0], got = forward(*fp8)[0];
  std::printf("tiny DiT, fp8 against bf16: rel. L2 %.3g\n", rel_l2(got, want));
  EXPECT_MSG(rel_l2(got, want) < 0.1, std::to_string(rel_l2(got, want)));
  EXPECT(fp8->blocks[0]->as<wan::dit::DiTBlock>()->ffn[0]->as<wan::dit::LinearImpl>()->is_fp8());

  // LoRAs: merged before quantising, or at run time beside the fp8 weights; both close to the
  // bf16 model with the LoRA merged, and strength 0 at run time gives the plain fp8 model.
  wan::LoadOptions merged = cuda_options(false), merged8 = cuda_options(true), runtime8 = cuda_options(true);
  for (auto* o : {&merged, &merged8, &runtime8}) o->loras = {{lora, 0.8}};
  runtime8.lora_mode = wan::LoraMode::Runtime;
  const at::Tensor want_lora = forward(*wan::load_dit(weights, merged))[0];
  EXPECT(rel_l2(want_lora, want) > 1e-2);  // the LoRA matters
  const at::Tensor got_merged = forward(*wan::load_dit(weights, merged8))[0];
  EXPECT_MSG(rel_l2(got_merged, want_lora) < 0.1, std::to_string(rel_l2(got_merged, want_lora)));
  wan::WanModel with_runtime = wan::load_dit(weights, runtime8);
  const at::Tensor got_runtime = forward(*with_runtime)[0];
  EXPECT_MSG(rel_l2(got_runtime, want_lora) < 0.1, std::to_string(rel_l2(got_runtime, want_lora)));
  with_runtime->set_lora_strengths({0.0});
  EXPECT_MSG(rel_l2(forward(*with_runtime)[0], got) < 1e-3, "strength 0 at run time");

  // Adapters on fc1 alone keep the fused quantise + bias + GELU path (fc2 unadapted): the same
  // LoRA's ffn.0 factors only, at a strength that makes their effect large. The change they make
  // in fp8 is held to the change they make in bf16 (fp8's own error cancels in the difference),
  // so adapters dropped or added after the GELU fail.
  wan::TensorMap fc1_only;
  for (const auto& [name, tensor] : wan::load_safetensors(lora))
    if (name.find("_ffn_0.") != std::string::npos) fc1_only.emplace(name, tensor);
  EXPECT(!fc1_only.empty());
  const std::string fc1_lora = (fs::temp_directory_path() / "test-fp8-fc1-lora.safetensors").string();
  wan::save_safetensors(fc1_lora, fc1_only);
  wan::LoadOptions fc1_merged = cuda_options(false), fc1_runtime8 = cuda_options(true);
  for (auto* o : {&fc1_merged, &fc1_runtime8}) o->loras = {{fc1_lora, 3.0}};
  fc1_runtime8.lora_mode = wan::LoraMode::Runtime;
  const at::Tensor bf16_change = forward(*wan::load_dit(weights, fc1_merged))[0].to(at::kDouble) - want.to(at::kDouble);
  const at::Tensor fp8_change = forward(*wan::load_dit(weights, fc1_runtime8))[0].to(at::kDouble) - got.to(at::kDouble);
  std::printf("tiny DiT, fc1-only run-time LoRA: change %.3g of the output, fp8 change against bf16 %.3g\n",
              (bf16_change.norm() / want.norm()).item<double>(), rel_l2(fp8_change, bf16_change));
  EXPECT((bf16_change.norm() / want.norm()).item<double>() > 5e-2);  // the adapters matter
  EXPECT_MSG(rel_l2(fp8_change, bf16_change) < 0.3,
             "fc1-only run-time LoRA: " + std::to_string(rel_l2(fp8_change, bf16_change)));
  fs::remove(fc1_lora);

  // Block swap moves fp8 blocks: the same output as resident.
  wan::WanModel swapped = wan::load_dit(weights, cuda_options(true), std::nullopt, wan::DiTBlocks::StreamedFromHost);
  EXPECT_MSG(rel_l2(forward(*swapped)[0], got) < 1e-3, "block swap in fp8");
}

// The fp8 load's predicate names exactly the weights of the blocks' Linear layers (an i2v model:
// the image keys included), by official name and under ComfyUI's prefix. Runs on the CPU.
void block_linear_predicate_matches_the_model() {
  wan::DiTConfig c;
  c.model_type = wan::DiTModelType::I2V;
  c.in_dim = 36, c.dim = 64, c.ffn_dim = 128, c.num_heads = 4, c.num_layers = 2, c.text_dim = 32;
  const wan::WanModel model(c);
  std::set<std::string> block_linear_weights;
  for (const auto& item : model->named_modules())
    if (item.key().rfind("blocks.", 0) == 0 && item.value()->as<wan::dit::LinearImpl>())
      block_linear_weights.insert(item.key() + ".weight");
  EXPECT_MSG(block_linear_weights.size() == 2 * 12, std::to_string(block_linear_weights.size()));
  for (const auto& p : model->named_parameters()) {
    const bool linear = block_linear_weights.count(p.key()) != 0;
    EXPECT_MSG(wan::dit::is_block_linear_weight(p.key()) == linear, p.key());
    EXPECT_MSG(wan::dit::is_block_linear_weight("model.diffusion_model." + p.key()) == linear, p.key());
  }
}

// float8 dtypes exist from libtorch 2.1 (the GPU parts never run without them).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define WAN_TEST_FLOAT8 1
#endif

#ifdef WAN_TEST_FLOAT8
// A block Linear's e4m3 codes and float32 [out] scales, by weight name.
using StoredFp8 = std::map<std::string, std::pair<at::Tensor, at::Tensor>>;

// The model's block Linears hold exactly `stored`'s codes and scales.
void expect_as_stored(const wan::WanModelImpl& model, const StoredFp8& stored, const std::string& label) {
  const auto params = model.named_parameters();
  const auto buffers = model.named_buffers();
  int matched = 0;
  for (const auto& [name, codes_scales] : stored) {
    const at::Tensor* weight = params.find(name);
    const at::Tensor* scale = buffers.find(name + "_scale");
    if (!weight || !scale || !wan::cuda::is_e4m3(*weight)) {
      EXPECT_MSG(false, label + ": " + name + " is not an fp8 weight with its scale");
      continue;
    }
    const bool same = at::equal(weight->cpu().contiguous().view(at::kByte), codes_scales.first.view(at::kByte)) &&
                      at::equal(scale->cpu(), codes_scales.second);
    EXPECT_MSG(same, label + ": " + name + " differs from the file's codes or scales");
    matched += same;
  }
  EXPECT_MSG(matched == static_cast<int>(stored.size()) && matched > 0, label);
}
#endif

// fp8 checkpoints load as stored, not dequantised and quantised again: LightX2V's layout
// (per-channel X.weight_scale [out, 1]), ComfyUI's scaled fp8 (a per-tensor X.scale_weight
// under the model.diffusion_model. prefix, with the scaled_fp8 marker), and e4m3 weights
// without a scale (scale 1). LightX2V's file holds the codes the fp8 mode makes of the float
// file, so both give the same output.
void fp8_checkpoints_load_as_stored() {
#ifdef WAN_TEST_FLOAT8
  const at::Device cuda(at::kCUDA, 0);
  const std::string plain_path = (fixtures / "dit-t2v-tiny" / "weights.safetensors").string();
  const wan::TensorMap plain = wan::load_safetensors(plain_path);
  wan::TensorMap lightx2v, comfyui, unscaled;
  StoredFp8 lightx2v_stored, comfyui_stored, unscaled_stored;
  const std::string prefix = "model.diffusion_model.";
  comfyui["scaled_fp8"] = at::zeros({2}).to(at::kFloat8_e4m3fn);
  for (const auto& [name, w] : plain) {
    if (!wan::dit::is_block_linear_weight(name)) {
      lightx2v[name] = unscaled[name] = w;
      comfyui[prefix + name] = w;
      continue;
    }
    const auto [codes, scales] = wan::cuda::quantize_weight_e4m3(w, cuda);
    lightx2v[name] = codes;
    lightx2v[name + "_scale"] = scales.view({-1, 1});
    lightx2v_stored[name] = {codes, scales};
    const at::Tensor tensor_scale = (w.abs().max().to(at::kFloat) / 448).view({1});
    const at::Tensor comfy_codes = (w.to(at::kFloat) / tensor_scale).to(at::kFloat8_e4m3fn);
    comfyui[prefix + name] = comfy_codes;
    comfyui[prefix + name.substr(0, name.size() - 6) + "scale_weight"] = tensor_scale;
    comfyui_stored[name] = {comfy_codes, tensor_scale.expand({w.size(0)}).contiguous()};
    const at::Tensor raw = w.clamp(-448, 448).to(at::kFloat8_e4m3fn);
    unscaled[name] = raw;
    unscaled_stored[name] = {raw, at::ones({w.size(0)})};
  }
  const fs::path dir = fs::temp_directory_path() / "test-fp8-checkpoints";
  fs::create_directories(dir);
  // The tiny model's head count cannot be read off its weights: its config.json goes beside them.
  fs::copy_file(fixtures / "dit-t2v-tiny" / "config.json", dir / "config.json", fs::copy_options::overwrite_existing);
  const std::vector<std::tuple<std::string, const wan::TensorMap*, const StoredFp8*>> files = {
      {"lightx2v", &lightx2v, &lightx2v_stored},
      {"comfyui", &comfyui, &comfyui_stored},
      {"unscaled", &unscaled, &unscaled_stored}};
  const at::Tensor from_float = forward(*wan::load_dit(plain_path, cuda_options(true)))[0];
  for (const auto& [label, tensors, stored] : files) {
    const std::string path = (dir / (label + ".safetensors")).string();
    wan::save_safetensors(path, *tensors);
    wan::WanModel model = wan::load_dit(path, cuda_options(true));
    expect_as_stored(*model, *stored, label);
    if (label == "lightx2v") {
      const double diff = rel_l2(forward(*model)[0], from_float);
      EXPECT_MSG(diff < 1e-6, "lightx2v file against the float file in fp8: " + std::to_string(diff));
    }
    // Without the fp8 mode the same file is dequantised into a bf16 model.
    wan::WanModel dequantised = wan::load_dit(path, cuda_options(false));
    EXPECT_MSG(!dequantised->blocks[0]->as<wan::dit::DiTBlock>()->ffn[0]->as<wan::dit::LinearImpl>()->is_fp8(),
               label + " loaded in bf16");
  }
  fs::remove_all(dir);
#endif
}

// The fp8 load never holds the bf16 blocks on the device: its peak device memory stays under
// their bf16 size (a 32-block copy of the tiny DiT, so that the blocks outweigh the rest),
// where loading in bf16 and quantising after (the path merged LoRAs take) exceeds it.
void fp8_load_never_holds_the_bf16_model() {
#ifdef WAN_WITH_CUDA
  const at::Device cuda(at::kCUDA, 0);
  const wan::TensorMap tiny =
      wan::load_safetensors((fixtures / "dit-t2v-tiny" / "weights.safetensors").string());
  wan::TensorMap deep;
  int64_t block_bf16_bytes = 0;
  for (int64_t i = 0; i < 32; ++i)
    for (const auto& [name, w] : tiny) {
      if (name.rfind("blocks.0.", 0) != 0) continue;
      const std::string renamed = "blocks." + std::to_string(i) + name.substr(8);
      deep[renamed] = w.to(at::kBFloat16);
      if (wan::dit::is_block_linear_weight(renamed)) block_bf16_bytes += w.numel() * 2;
    }
  for (const auto& [name, w] : tiny)
    if (name.rfind("blocks.", 0) != 0) deep[name] = w.to(at::kBFloat16);
  const fs::path dir = fs::temp_directory_path() / "test-fp8-deep";
  fs::create_directories(dir);
  const std::string path = (dir / "weights.safetensors").string();
  wan::save_safetensors(path, deep);
  std::ifstream in(fixtures / "dit-t2v-tiny" / "config.json");
  std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string layers = "\"num_layers\": 2,";
  const size_t layers_at = config.find(layers);
  EXPECT(layers_at != std::string::npos);
  if (layers_at != std::string::npos) config.replace(layers_at, layers.size(), "\"num_layers\": 32,");
  std::ofstream(dir / "config.json") << config;

  auto load_peak = [&](const wan::LoadOptions& options) {
    c10::cuda::device_synchronize();
    c10::cuda::CUDACachingAllocator::emptyCache();
    const auto before = c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].current;
    c10::cuda::CUDACachingAllocator::resetPeakStats(0);
    {
      wan::WanModel model = wan::load_dit(path, options);
      c10::cuda::device_synchronize();
    }
    return c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].peak - before;
  };
  const int64_t at_load = load_peak(cuda_options(true));
  // Merged LoRAs (strength 0 changes nothing) take the load-then-quantise path.
  wan::LoadOptions merged = cuda_options(true);
  merged.loras = {{(fixtures / "dit-lora-kohya" / "lora0.safetensors").string(), 0.0}};
  const int64_t after_load = load_peak(merged);
  std::printf("fp8 load of a 32-block tiny DiT: device peak %lld bytes, the blocks' Linears in bf16 %lld, "
              "loaded in bf16 and quantised after %lld\n",
              static_cast<long long>(at_load), static_cast<long long>(block_bf16_bytes),
              static_cast<long long>(after_load));
  EXPECT_MSG(at_load < block_bf16_bytes, "the fp8 load held " + std::to_string(at_load) + " bytes");
  EXPECT_MSG(after_load > block_bf16_bytes, "the measure cannot tell: " + std::to_string(after_load));
  fs::remove_all(dir);
#endif
}

}  // namespace

// The int8 kernel runs heads of 128 channels only: a model with others is refused at load,
// with the reason, where the kernel itself can run.
void int8_attention_refused_for_other_heads() {
  wan::LoadOptions options;
  options.device = at::Device(at::kCUDA, 0);
  options.self_attention = wan::SelfAttentionKind::int8;
  if (!wan::cuda::int8_attention_available(options.compute())) return;
  EXPECT_ERROR(wan::load_dit((fixtures / "dit-t2v-tiny" / "weights.safetensors").string(), options),
               "heads of 128 only");
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-fp8 FIXTURES_DIR\n");
    return 2;
  }
  fixtures = argv[1];
  fp8_refused_where_it_cannot_run();
  block_linear_predicate_matches_the_model();
  std::string why;
  if (wan::test::failures() == 0 && !wan::cuda::fp8_available(at::Device(at::kCUDA, 0), &why)) {
    std::printf("GPU parts skipped: %s\n", why.c_str());
    return 77;
  }
  quantization_matches_the_reference();
  gemm_matches_bf16();
  tiny_dit_in_fp8();
  fp8_checkpoints_load_as_stored();
  fp8_load_never_holds_the_bf16_model();
  int8_attention_refused_for_other_heads();
  return wan::test::check_exit("test-fp8");
}
