#include "models/dit/dit_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include <c10/util/StringUtil.h>

#include "models/common/error.h"

namespace wan {
namespace {

using nlohmann::json;

// Width of the CLIP image features the image embedding projects (fixed by the architecture).
constexpr int64_t kClipFeatureDim = 1280;
// Image tokens per CLIP image; flf2v feeds two images (first and last frame).
constexpr int64_t kClipTokensPerImage = 257;
// The reference splits the i2v cross-attention context at this hard-coded text length.
constexpr int64_t kReferenceTextLen = 512;
// All released Wan2.1 DiTs use 128-wide attention heads; a bare weights file does not say.
constexpr int64_t kReleasedHeadDim = 128;

int64_t get_int(const json& j, const char* key, const std::string& origin) {
  const json& v = j.at(key);
  if (!v.is_number_integer()) throw Error(origin + ": \"" + key + "\" must be an integer, got " + v.dump());
  return v.get<int64_t>();
}

bool get_bool(const json& j, const char* key, const std::string& origin) {
  const json& v = j.at(key);
  if (!v.is_boolean()) throw Error(origin + ": \"" + key + "\" must be true or false, got " + v.dump());
  return v.get<bool>();
}

template <size_t N>
std::array<int64_t, N> get_int_array(const json& j, const char* key, const std::string& origin) {
  const json& v = j.at(key);
  if (!v.is_array() || v.size() != N)
    throw Error(origin + ": \"" + key + "\" must be a list of " + std::to_string(N) + " integers, got " + v.dump());
  std::array<int64_t, N> out{};
  for (size_t i = 0; i < N; ++i) {
    if (!v[i].is_number_integer()) throw Error(origin + ": \"" + key + "\" must hold integers, got " + v.dump());
    out[i] = v[i].get<int64_t>();
  }
  return out;
}

bool present(const json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

// The fields both config forms spell alike.
void read_common(const json& j, const std::string& origin, DiTConfig& c) {
  if (present(j, "patch_size")) {
    c.patch_size = get_int_array<3>(j, "patch_size", origin);
    c.given.insert("patch_size");
  }
  if (present(j, "cross_attn_norm")) {
    c.cross_attn_norm = get_bool(j, "cross_attn_norm", origin);
    c.given.insert("cross_attn_norm");
  }
  if (present(j, "eps")) {
    const json& v = j.at("eps");
    if (!v.is_number()) throw Error(origin + ": \"eps\" must be a number, got " + v.dump());
    c.eps = v.get<double>();
    c.given.insert("eps");
  }
}

void read_official(const json& j, const std::string& origin, DiTConfig& c) {
  auto take_int = [&](const char* key, int64_t& field) {
    if (present(j, key)) {
      field = get_int(j, key, origin);
      c.given.insert(key);
    }
  };
  take_int("text_len", c.text_len);
  take_int("in_dim", c.in_dim);
  take_int("dim", c.dim);
  take_int("ffn_dim", c.ffn_dim);
  take_int("freq_dim", c.freq_dim);
  take_int("text_dim", c.text_dim);
  take_int("out_dim", c.out_dim);
  take_int("num_heads", c.num_heads);
  take_int("num_layers", c.num_layers);
  if (present(j, "model_type")) {
    if (!j.at("model_type").is_string())
      throw Error(origin + ": \"model_type\" must be a string, got " + j.at("model_type").dump());
    c.model_type = parse_dit_model_type(j.at("model_type").get<std::string>());
    c.given.insert("model_type");
  }
  if (present(j, "window_size")) {
    c.window_size = get_int_array<2>(j, "window_size", origin);
    c.given.insert("window_size");
  }
  if (present(j, "qk_norm")) {
    c.qk_norm = get_bool(j, "qk_norm", origin);
    c.given.insert("qk_norm");
  }
  read_common(j, origin, c);
}

// diffusers' WanTransformer3DModel names; the model type follows from the image inputs.
void read_diffusers(const json& j, const std::string& origin, DiTConfig& c) {
  auto take_int = [&](const char* key, const char* official, int64_t& field) {
    if (present(j, key)) {
      field = get_int(j, key, origin);
      c.given.insert(official);
    }
  };
  take_int("in_channels", "in_dim", c.in_dim);
  take_int("out_channels", "out_dim", c.out_dim);
  take_int("text_dim", "text_dim", c.text_dim);
  take_int("freq_dim", "freq_dim", c.freq_dim);
  take_int("ffn_dim", "ffn_dim", c.ffn_dim);
  take_int("num_layers", "num_layers", c.num_layers);
  take_int("rope_max_seq_len", "rope_max_seq_len", c.rope_max_seq_len);
  if (present(j, "num_attention_heads") != present(j, "attention_head_dim"))
    throw Error(origin + ": \"num_attention_heads\" and \"attention_head_dim\" must be given together");
  if (present(j, "num_attention_heads")) {
    c.num_heads = get_int(j, "num_attention_heads", origin);
    c.dim = c.num_heads * get_int(j, "attention_head_dim", origin);
    c.given.insert("num_heads");
    c.given.insert("dim");
  }
  if (j.contains("qk_norm")) {
    const json& v = j.at("qk_norm");
    if (v.is_null() || (v.is_boolean() && !v.get<bool>())) {
      c.qk_norm = false;
    } else if (v.is_string() && v.get<std::string>() == "rms_norm_across_heads") {
      c.qk_norm = true;
    } else {
      throw Error(origin + ": qk_norm " + v.dump() +
                  " is not supported (Wan2.1 uses \"rms_norm_across_heads\" or null)");
    }
    c.given.insert("qk_norm");
  }
  read_common(j, origin, c);
  if (j.contains("image_dim") || j.contains("added_kv_proj_dim") || j.contains("pos_embed_seq_len")) {
    const bool image = present(j, "image_dim");
    if (image && get_int(j, "image_dim", origin) != kClipFeatureDim)
      throw Error(origin + ": image_dim " + j.at("image_dim").dump() + " is not supported (expected " +
                  std::to_string(kClipFeatureDim) + ")");
    if (image != present(j, "added_kv_proj_dim"))
      throw Error(origin + ": \"image_dim\" and \"added_kv_proj_dim\" must both be set (i2v) or both null (t2v)");
    c.model_type = DiTModelType::T2V;
    if (image) c.model_type = DiTModelType::I2V;
    if (present(j, "pos_embed_seq_len")) {
      if (!image) throw Error(origin + ": \"pos_embed_seq_len\" needs \"image_dim\"");
      const int64_t tokens = get_int(j, "pos_embed_seq_len", origin);
      if (tokens != 2 * kClipTokensPerImage)
        throw Error(origin + ": pos_embed_seq_len " + std::to_string(tokens) + " is not supported (flf2v uses " +
                    std::to_string(2 * kClipTokensPerImage) + ")");
      c.model_type = DiTModelType::FLF2V;
    }
    c.given.insert("model_type");
  }
  // diffusers pipelines pad the prompt embedding to 512 rows, like text_len of the official form.
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open DiT config " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const at::Tensor* find(const TensorMap& weights, const std::string& name) {
  auto it = weights.find(name);
  return it == weights.end() ? nullptr : &it->second;
}

const at::Tensor& require(const TensorMap& weights, const std::string& name, int64_t rank) {
  const at::Tensor* t = find(weights, name);
  if (!t) throw Error("DiT weights: tensor " + name + " is missing (is this a Wan2.1 DiT checkpoint?)");
  if (t->dim() != rank)
    throw Error("DiT weights: tensor " + name + " has shape " + c10::str(t->sizes()) + ", expected " +
                std::to_string(rank) + " dimensions");
  // The config is read off these sizes (divisions and products among them): each must be a
  // real size before any arithmetic.
  constexpr int64_t kLargestSize = int64_t{1} << 20;
  for (int64_t size : t->sizes())
    if (size < 1 || size > kLargestSize)
      throw Error("DiT weights: tensor " + name + " has shape " + c10::str(t->sizes()) + ": every size must be 1 to " +
                  std::to_string(kLargestSize));
  return *t;
}

}  // namespace

std::string to_string(DiTModelType type) {
  switch (type) {
    case DiTModelType::T2V: return "t2v";
    case DiTModelType::I2V: return "i2v";
    case DiTModelType::FLF2V: return "flf2v";
  }
  return "?";
}

DiTModelType parse_dit_model_type(const std::string& name) {
  if (name == "t2v") return DiTModelType::T2V;
  if (name == "i2v") return DiTModelType::I2V;
  if (name == "flf2v") return DiTModelType::FLF2V;
  throw Error("DiT model_type \"" + name + "\" is not supported (expected t2v, i2v or flf2v)");
}

DiTConfig DiTConfig::from_json_text(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(origin + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(origin + " must hold a JSON object");
  const auto cls_it = j.find("_class_name");
  if (cls_it != j.end() && !cls_it->is_string()) throw Error(origin + ": _class_name must be a string");
  const std::string cls = cls_it == j.end() ? std::string() : cls_it->get<std::string>();
  const bool diffusers = cls == "WanTransformer3DModel" || j.contains("num_attention_heads");
  if (!diffusers && !cls.empty() && cls != "WanModel")
    throw Error(origin + ": _class_name \"" + cls +
                "\" is not a Wan2.1 DiT (expected WanModel or WanTransformer3DModel)");
  DiTConfig c;
  try {
    if (diffusers)
      read_diffusers(j, origin, c);
    else
      read_official(j, origin, c);
  } catch (const json::exception& e) {
    throw Error(origin + ": " + e.what());
  }
  return c;
}

DiTConfig DiTConfig::from_json_file(const std::string& path) { return from_json_text(read_text_file(path), path); }

void DiTConfig::infer_from_weights(const TensorMap& w) {
  // Keys the reference's from_pretrained never reads from config.json: the weights decide them.
  static const std::set<std::string> weights_decide = {"patch_size", "qk_norm", "cross_attn_norm", "text_dim"};
  auto settle = [&](const char* key, int64_t& field, int64_t from_weights, const std::string& tensor,
                    const at::Tensor& t) {
    if (given.count(key) && !weights_decide.count(key) && field != from_weights)
      throw Error("DiT config says " + std::string(key) + " = " + std::to_string(field) + " but tensor " + tensor +
                  " has shape " + c10::str(t.sizes()) + " (" + key + " = " + std::to_string(from_weights) + ")");
    field = from_weights;
  };

  if (find(w, "vace_blocks.0.modulation") || find(w, "vace_patch_embedding.weight"))
    throw Error("DiT weights: VACE checkpoints are not supported (only t2v, i2v and flf2v)");

  const at::Tensor& patch = require(w, "patch_embedding.weight", 5);
  settle("dim", dim, patch.size(0), "patch_embedding.weight", patch);
  settle("in_dim", in_dim, patch.size(1), "patch_embedding.weight", patch);
  const std::array<int64_t, 3> kernel{patch.size(2), patch.size(3), patch.size(4)};
  patch_size = kernel;

  int64_t layers = 0;
  while (find(w, "blocks." + std::to_string(layers) + ".modulation")) ++layers;
  if (layers == 0) throw Error("DiT weights: no transformer blocks (blocks.0.modulation is missing)");
  settle("num_layers", num_layers, layers, "blocks." + std::to_string(layers - 1) + ".modulation",
         w.at("blocks." + std::to_string(layers - 1) + ".modulation"));

  const at::Tensor& ffn = require(w, "blocks.0.ffn.0.weight", 2);
  settle("ffn_dim", ffn_dim, ffn.size(0), "blocks.0.ffn.0.weight", ffn);
  const at::Tensor& time = require(w, "time_embedding.0.weight", 2);
  settle("freq_dim", freq_dim, time.size(1), "time_embedding.0.weight", time);
  const at::Tensor& text = require(w, "text_embedding.0.weight", 2);
  settle("text_dim", text_dim, text.size(1), "text_embedding.0.weight", text);

  const at::Tensor& head = require(w, "head.head.weight", 2);
  const int64_t patch_volume = kernel[0] * kernel[1] * kernel[2];
  if (head.size(0) % patch_volume != 0)
    throw Error("DiT weights: head.head.weight has shape " + c10::str(head.sizes()) +
                ", its rows are not a multiple of the patch volume " + std::to_string(patch_volume));
  settle("out_dim", out_dim, head.size(0) / patch_volume, "head.head.weight", head);

  DiTModelType type = DiTModelType::T2V;
  if (find(w, "img_emb.proj.0.weight")) type = DiTModelType::I2V;
  if (find(w, "img_emb.emb_pos")) type = DiTModelType::FLF2V;
  if (given.count("model_type") && model_type != type)
    throw Error("DiT config says model_type " + to_string(model_type) + " but the weights are those of a " +
                to_string(type) + " model (img_emb.proj.0.weight " +
                (find(w, "img_emb.proj.0.weight") ? "present" : "absent") + ", img_emb.emb_pos " +
                (find(w, "img_emb.emb_pos") ? "present" : "absent") + ")");
  model_type = type;

  qk_norm = find(w, "blocks.0.self_attn.norm_q.weight") != nullptr;
  cross_attn_norm = find(w, "blocks.0.norm3.weight") != nullptr;

  if (!given.count("num_heads")) {
    if (dim % kReleasedHeadDim != 0)
      throw Error("DiT: num_heads is not in the config and cannot be read off the weights; dim " + std::to_string(dim) +
                  " is not a multiple of the released head width " + std::to_string(kReleasedHeadDim) +
                  ", so put a config.json with num_heads next to the weights");
    num_heads = dim / kReleasedHeadDim;
  }
  validate();
}

void DiTConfig::validate() const {
  auto fail = [](const std::string& what) { throw Error("DiT config: " + what); };
  for (int64_t v : {dim, ffn_dim, freq_dim, in_dim, out_dim, num_heads, num_layers, text_len, text_dim})
    if (v <= 0)
      fail(
          "sizes must be positive (dim, ffn_dim, freq_dim, in_dim, out_dim, num_heads, num_layers, text_len, "
          "text_dim)");
  for (int64_t p : patch_size)
    if (p <= 0) fail("patch_size entries must be positive");
  if (dim % num_heads != 0)
    fail("dim " + std::to_string(dim) + " is not divisible by num_heads " + std::to_string(num_heads));
  if (head_dim() % 2 != 0) fail("the head width dim / num_heads = " + std::to_string(head_dim()) + " must be even");
  if (freq_dim % 2 != 0) fail("freq_dim " + std::to_string(freq_dim) + " must be even");
  if (window_size[0] != -1 || window_size[1] != -1)
    fail("window_size [" + std::to_string(window_size[0]) + ", " + std::to_string(window_size[1]) +
         "] is not supported (only global attention, [-1, -1])");
  if (has_image_input() && text_len != kReferenceTextLen)
    fail(to_string(model_type) + " models need text_len " + std::to_string(kReferenceTextLen) +
         " (the image tokens are split off the context at that length), got " + std::to_string(text_len));
  if (rope_max_seq_len <= 0) fail("rope_max_seq_len must be positive");
}

}  // namespace wan
