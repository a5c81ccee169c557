// The conditioning encoders load from every supported checkpoint layout:
// umT5 from transformers names (diffusers text_encoder/, ComfyUI umt5_xxl),
// the CLIP tower from the whole open-clip checkpoint (visual.* only) and from
// transformers CLIPVisionModel names (separate q/k/v fused into to_qkv).
// Loaders build the model uninitialised in the requested dtype: what it holds
// after loading is the checkpoint's values, converted once.
//   test-encoder-layouts T5_CASE_DIR CLIP_CASE_DIR
#include <filesystem>
#include <fstream>
#include <string>

#include <c10/core/GradMode.h>
#include <nlohmann/json.hpp>

#include "models/clip/clip_loader.h"
#include "models/t5/t5_loader.h"
#include "models/weights/checkpoint_layout.h"
#include "models/weights/model_weights.h"
#include "models/weights/safetensors.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& file) {
  nlohmann::json j;
  std::ifstream(file) >> j;
  return j;
}

bool same_maps(const wan::TensorMap& a, const wan::TensorMap& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, t] : a)
    if (!b.count(name) || !at::equal(b.at(name), t)) return false;
  return true;
}

void t5_layouts(const fs::path& dir) {
  const wan::TensorMap official = wan::load_safetensors((dir / "weights.safetensors").string());
  const nlohmann::json config = read_json(dir / "config.json");
  const wan::T5Config inferred = wan::T5Config::from_weights(official);
  EXPECT(inferred.vocab == config.at("vocab") && inferred.dim == config.at("dim") &&
         inferred.dim_attn == config.at("dim_attn") && inferred.dim_ffn == config.at("dim_ffn") &&
         inferred.num_heads == config.at("num_heads") && inferred.num_layers == config.at("num_layers") &&
         inferred.num_buckets == config.at("num_buckets") && inferred.shared_pos == config.at("shared_pos"));

  wan::TensorMap transformers = wan::from_official_names(wan::ModelFamily::T5, "transformers", official);
  EXPECT(transformers.count("shared.weight") && transformers.count("encoder.final_layer_norm.weight") &&
         transformers.count("encoder.block.1.layer.1.DenseReluDense.wi_0.weight"));
  transformers["encoder.embed_tokens.weight"] = transformers.at("shared.weight");  // tied copy
  transformers["spiece_model"] = at::zeros({16}, at::kByte);                       // ComfyUI's tokenizer blob
  const wan::ModelWeights prepared = wan::prepare_weights(wan::ModelFamily::T5, transformers, "t5", {});
  EXPECT(same_maps(prepared.tensors, official));
  EXPECT(prepared.layout == "transformers");

  const wan::TensorMap io = wan::load_safetensors((dir / "io.safetensors").string());
  c10::AutoGradMode no_grad(false);
  const at::Tensor a = wan::load_t5_encoder(official, "official")->forward(io.at("in.ids"), io.at("in.mask"));
  const at::Tensor b = wan::load_t5_encoder(transformers, "transformers")->forward(io.at("in.ids"), io.at("in.mask"));
  EXPECT(at::equal(a, b));

  wan::TensorMap broken = official;
  broken.erase("blocks.1.ffn.fc2.weight");
  EXPECT_ERROR(wan::load_t5_encoder(broken, "broken.pth"), "blocks.1.ffn.fc2.weight");
}

void clip_layouts(const fs::path& dir) {
  const wan::TensorMap tower = wan::load_safetensors((dir / "weights.safetensors").string());
  wan::TensorMap expected = tower;  // what the model loads: no head, no post_norm
  for (const char* unused : {"head", "post_norm.weight", "post_norm.bias"}) EXPECT(expected.erase(unused) == 1);

  // The official .pth holds the whole CLIP.
  wan::TensorMap open_clip;
  for (const auto& [name, t] : tower) open_clip["visual." + name] = t;
  open_clip["textual.token_embedding.weight"] = at::zeros({4, 2});
  open_clip["log_scale"] = at::zeros({});
  auto clip_weights = [](const wan::TensorMap& checkpoint) {
    return wan::prepare_weights(wan::ModelFamily::CLIP, checkpoint, "clip", {});
  };
  EXPECT(same_maps(clip_weights(open_clip).tensors, expected));
  EXPECT(clip_weights(open_clip).layout == "open-clip");

  // transformers CLIPVisionModel names, written out independently of the table.
  const int64_t dim = tower.at("patch_embedding.weight").size(0);
  wan::TensorMap hf;
  hf["vision_model.embeddings.patch_embedding.weight"] = tower.at("patch_embedding.weight");
  hf["vision_model.embeddings.class_embedding"] = tower.at("cls_embedding").reshape({dim});
  hf["vision_model.embeddings.position_embedding.weight"] = tower.at("pos_embedding")[0];
  hf["vision_model.embeddings.position_ids"] = at::arange(tower.at("pos_embedding").size(1)).unsqueeze(0);
  hf["vision_model.pre_layrnorm.weight"] = tower.at("pre_norm.weight");
  hf["vision_model.pre_layrnorm.bias"] = tower.at("pre_norm.bias");
  hf["vision_model.post_layernorm.weight"] = tower.at("post_norm.weight");
  hf["vision_model.post_layernorm.bias"] = tower.at("post_norm.bias");
  hf["visual_projection.weight"] = tower.at("head").t();
  for (int i = 0; tower.count("transformer." + std::to_string(i) + ".norm1.weight"); ++i) {
    const std::string o = "transformer." + std::to_string(i) + ".";
    const std::string h = "vision_model.encoder.layers." + std::to_string(i) + ".";
    const auto w = tower.at(o + "attn.to_qkv.weight").chunk(3, 0);
    const auto b = tower.at(o + "attn.to_qkv.bias").chunk(3, 0);
    const char* qkv[3] = {"q", "k", "v"};
    for (int j = 0; j < 3; ++j) {
      hf[h + "self_attn." + qkv[j] + "_proj.weight"] = w[j].clone();
      hf[h + "self_attn." + qkv[j] + "_proj.bias"] = b[j].clone();
    }
    for (const char* p : {"weight", "bias"}) {
      hf[h + "self_attn.out_proj." + p] = tower.at(o + "attn.proj." + p);
      hf[h + "layer_norm1." + p] = tower.at(o + "norm1." + p);
      hf[h + "layer_norm2." + p] = tower.at(o + "norm2." + p);
      hf[h + "mlp.fc1." + p] = tower.at(o + "mlp.0." + p);
      hf[h + "mlp.fc2." + p] = tower.at(o + "mlp.2." + p);
    }
  }
  EXPECT(same_maps(clip_weights(hf).tensors, expected));
  EXPECT(clip_weights(hf).layout == "transformers");

  const nlohmann::json config = read_json(dir / "config.json");
  const wan::ClipVisionConfig inferred = wan::ClipVisionConfig::from_weights(expected);
  EXPECT(inferred.image_size == config.at("image_size") && inferred.patch_size == config.at("patch_size") &&
         inferred.dim == config.at("dim") && inferred.num_layers == config.at("num_layers") &&
         inferred.mlp_ratio == config.at("mlp_ratio").get<double>() && inferred.pre_norm);

  hf.erase("vision_model.encoder.layers.0.self_attn.k_proj.bias");
  EXPECT_ERROR(clip_weights(hf), "'k' part");
  wan::LoadOptions lora_options;
  lora_options.loras = {{"a.safetensors", 1.0}};
  EXPECT_ERROR(wan::load_clip_vision_encoder(tower, "clip", lora_options), "LoRAs apply to the DiT only");
}

// Every parameter is the checkpoint's tensor of that name converted to `dtype`.
bool holds_checkpoint(torch::nn::Module& model, const wan::TensorMap& weights, at::ScalarType dtype) {
  size_t matched = 0;
  for (const auto& p : model.named_parameters()) {
    const auto it = weights.find(p.key());
    if (it == weights.end() || p.value().scalar_type() != dtype || !at::equal(p.value(), it->second.to(dtype)))
      return false;
    ++matched;
  }
  return matched == weights.size();
}

void loaded_in_requested_dtype(const fs::path& t5_dir, const fs::path& clip_dir) {
  c10::AutoGradMode no_grad(false);
  const wan::TensorMap t5 = wan::load_safetensors((t5_dir / "weights.safetensors").string());
  for (const auto dtype : {at::kFloat, at::kBFloat16}) {
    wan::T5Encoder model = wan::load_t5_encoder(t5, "t5", wan::LoadOptions{at::kCPU, dtype});
    EXPECT_MSG(holds_checkpoint(*model, t5, dtype), c10::toString(dtype));
  }
  const wan::TensorMap clip =
      wan::prepare_weights(wan::ModelFamily::CLIP, wan::load_safetensors((clip_dir / "weights.safetensors").string()),
                           "clip", {})
          .tensors;
  for (const auto dtype : {at::kFloat, at::kHalf}) {
    wan::ClipVisionEncoder encoder = wan::load_clip_vision_encoder(clip, "clip", wan::LoadOptions{at::kCPU, dtype});
    EXPECT_MSG(holds_checkpoint(*encoder.tower(), clip, dtype), c10::toString(dtype));
  }

  // Models built without a checkpoint still get libtorch's random initialisation.
  wan::T5Encoder random(wan::T5Config::from_weights(t5));
  EXPECT(at::equal(random->norm->weight, at::ones_like(random->norm->weight)));
  const at::Tensor q = random->blocks->ptr(0)->as<wan::T5SelfAttention>()->attn->q->weight;
  EXPECT(q.scalar_type() == at::kFloat && at::isfinite(q).all().item<bool>() && q.std().item<double>() > 0);
  wan::VisionTransformer tower(wan::ClipVisionConfig::from_weights(clip));
  const at::Tensor qkv = tower->transformer->ptr(0)->as<wan::ClipAttentionBlock>()->attn->to_qkv->weight;
  EXPECT(at::isfinite(qkv).all().item<bool>() && qkv.std().item<double>() > 0);
  EXPECT(at::equal(tower->cls_embedding, at::zeros_like(tower->cls_embedding)));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: test-encoder-layouts T5_CASE_DIR CLIP_CASE_DIR\n");
    return 2;
  }
  try {
    t5_layouts(argv[1]);
    clip_layouts(argv[2]);
    loaded_in_requested_dtype(argv[1], argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test-encoder-layouts: %s\n", e.what());
    return 1;
  }
  return wan::test::check_exit("test-encoder-layouts");
}
