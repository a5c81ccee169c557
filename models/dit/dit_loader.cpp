#include "models/dit/dit_loader.h"

#include <c10/core/GradMode.h>

#include <filesystem>

#include "models/common/error.h"
#include "models/cuda/fp8_attention.h"
#include "models/cuda/fp8_ops.h"
#include "models/cuda/int8_attention.h"
#include "models/dit/causal_checkpoint.h"
#include "models/dit/fp8_load.h"
#include "models/dit/lora_adapters.h"
#include "models/weights/model_weights.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"

namespace wan {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWeightsFile = "diffusion_pytorch_model.safetensors";
constexpr const char* kShardIndexFile = "diffusion_pytorch_model.safetensors.index.json";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The fp8 load keeps an fp8 checkpoint's block Linears as stored.
KeepQuantized keep_quantized(const LoadOptions& options) {
  return options.fp8_at_load() ? KeepQuantized(dit::is_block_linear_weight) : KeepQuantized();
}

}  // namespace

DiTCheckpoint read_dit_checkpoint(const std::string& path, const LoadOptions& options) {
  DiTCheckpoint ckpt;
  fs::path weights_path;
  fs::path config_path;
  const fs::path p(path);
  if (fs::exists(p) && dit_checkpoint_kind(path) == DiTKind::Causal) {
    // A causal training checkpoint (Self-Forcing): the generator's weights, a config.json beside it.
    ckpt.weights_path = causal_checkpoint_file(path);
    ModelWeights weights = prepare_weights(ModelFamily::DiT, read_causal_generator(ckpt.weights_path),
                                           ckpt.weights_path, options, keep_quantized(options));
    ckpt.weights = std::move(weights.tensors);
    ckpt.layout = "causal";
    const fs::path beside = fs::path(ckpt.weights_path).parent_path() / "config.json";
    if (fs::exists(beside)) ckpt.config = DiTConfig::from_json_file(beside.string());
    return ckpt;
  }
  if (fs::is_directory(p)) {
    fs::path dir = p;
    if (!fs::exists(dir / kWeightsFile) && !fs::exists(dir / kShardIndexFile) && fs::is_directory(dir / "transformer"))
      dir = dir / "transformer";  // a diffusers pipeline folder
    if (fs::exists(dir / kShardIndexFile))
      weights_path = dir / kShardIndexFile;
    else if (fs::exists(dir / kWeightsFile))
      weights_path = dir / kWeightsFile;
    else
      throw Error("DiT checkpoint folder " + path + " has neither " + kWeightsFile + " nor " + kShardIndexFile +
                  " (nor a diffusers transformer/ subfolder with one)");
    if (fs::exists(dir / "config.json")) config_path = dir / "config.json";
  } else if (fs::is_regular_file(p)) {
    if (!ends_with(path, ".safetensors") && !ends_with(path, ".safetensors.index.json"))
      throw Error("DiT checkpoint " + path +
                  " is not a .safetensors file (or a folder holding one), nor a causal training checkpoint");
    weights_path = p;
    // A single file inside a checkpoint folder: that folder's config is checked against the
    // weights like any other (a file of another size fails), and names what they cannot say.
    if (fs::exists(p.parent_path() / "config.json")) config_path = p.parent_path() / "config.json";
  } else {
    throw Error("DiT checkpoint " + path + " does not exist");
  }

  ckpt.weights_path = weights_path.string();
  ModelWeights weights = prepare_weights(ModelFamily::DiT, load_safetensors(ckpt.weights_path), ckpt.weights_path,
                                         options, keep_quantized(options));
  ckpt.weights = std::move(weights.tensors);
  ckpt.layout = weights.layout;
  if (!config_path.empty()) ckpt.config = DiTConfig::from_json_file(config_path.string());
  return ckpt;
}

WanModel load_dit(const std::string& path, const LoadOptions& options, const std::optional<DiTConfig>& config,
                  DiTBlocks blocks) {
  const at::ScalarType dtype = options.dtype;
  if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf)
    throw Error(std::string("DiT compute dtype must be float32, bfloat16 or float16, got ") + c10::toString(dtype));
  if (options.fp8_linear) {
    std::string why;
    if (!cuda::fp8_available(options.compute(), &why)) throw Error("dtype fp8: " + why);
    if (dtype != at::kBFloat16)
      throw Error("the fp8 mode computes its activations in bfloat16, not in " + std::string(c10::toString(dtype)));
  }
  if (options.self_attention != SelfAttentionKind::exact) {
    const bool fp8 = options.self_attention == SelfAttentionKind::fp8;
    std::string why;
    if (!(fp8 ? cuda::fp8_attention_available : cuda::int8_attention_available)(options.compute(), &why))
      throw Error(std::string("attention ") + self_attention_name(options.self_attention) + ": " + why);
  }
  DiTCheckpoint ckpt = read_dit_checkpoint(path, options);
  DiTConfig resolved = config ? *config : ckpt.config.value_or(DiTConfig{});
  resolved.infer_from_weights(ckpt.weights);
  // Known before any weight moves: the int8 kernel is built for the Wan models' heads of 128.
  if (options.self_attention == SelfAttentionKind::int8 && resolved.head_dim() != 128)
    throw Error("attention int8: this model's attention heads have " + std::to_string(resolved.head_dim()) +
                " channels; the int8 kernel runs heads of 128 only (every Wan2.1 model has them)");

  c10::AutoGradMode no_grad(false);
  const bool streamed = blocks == DiTBlocks::StreamedFromHost;
  const bool fp8_at_load = options.fp8_at_load();
  const at::Device host(at::kCPU);
  // Built in host memory for block swap, and for the fp8 load (see fp8_load.h).
  WanModel model(resolved, at::TensorOptions().device(streamed || fp8_at_load ? host : options.device).dtype(dtype),
                 ParameterInit::Uninitialized);
  if (fp8_at_load) {
    dit::quantize_block_linears(ckpt.weights, options.compute(), streamed ? host : options.device);
    dit::adopt_fp8_block_linears(*model, ckpt.weights);
  }
  load_state_dict(*model, ckpt.weights, ckpt.weights_path);
  // Merged LoRAs change the weights fp8 quantises; run-time ones attach to the fp8 layers.
  if (options.lora_mode == LoraMode::Merge) apply_loras(*model, options, ckpt.weights);
  if (options.fp8_linear && !fp8_at_load) model->quantize_fp8(options.compute());
  // The model holds what it adopted (run-time LoRAs never read the checkpoint's tensors):
  // dropped before block swap copies the blocks to pinned memory and before q, k and v are stacked.
  if (fp8_at_load) ckpt.weights.clear();
  if (fp8_at_load && !streamed) {
    model->to(options.device);
    model->stack_qkv();
  }
  if (options.lora_mode == LoraMode::Runtime) apply_loras(*model, options, ckpt.weights);
  model->set_self_attention(options.self_attention);
  if (streamed) model->stream_blocks_from_host(options.device);
  model->eval();
  return model;
}

void apply_loras(WanModelImpl& model, const LoadOptions& options, const TensorMap& base) {
  if (options.loras.empty()) return;
  const ParameterShapes shapes = parameter_shapes(model);
  std::vector<LoraFile> files;
  std::vector<double> strengths;
  for (const auto& spec : options.loras) {
    files.push_back(read_lora_file(spec.path, shapes));
    strengths.push_back(spec.strength);
  }
  if (options.lora_mode == LoraMode::Merge) {
    merge_loras(model, files, strengths, base, options.compute());
  } else {
    model.runtime_loras = std::make_shared<RuntimeLoras>(model, std::move(files), options.compute());
    model.runtime_loras->set_strengths(strengths);
  }
}

}  // namespace wan
