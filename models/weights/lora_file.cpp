#include "models/weights/lora_file.h"

#include <optional>
#include <set>
#include <sstream>

#include "models/common/error.h"
#include "models/weights/checkpoint_file.h"
#include "models/weights/checkpoint_layout.h"

namespace wan {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_text(at::IntArrayRef shape) {
  std::ostringstream s;
  s << shape;
  return s.str();
}

// The likely cause of a LoRA whose shapes do not fit the model.
constexpr const char* kAnotherModel =
    " (a LoRA made for another model, or another model size, e.g. a 1.3B LoRA on a 14B model?)";

// What a key's suffix says it holds.
enum class Role { Down, Up, Alpha, Diff, DiffBias, DiffModulation };
struct Suffix {
  const char* text;
  Role role;
};
constexpr Suffix kSuffixes[] = {
    {".lora_down.weight", Role::Down}, {".lora_A.weight", Role::Down}, {".lora_up.weight", Role::Up},
    {".lora_B.weight", Role::Up},      {".alpha", Role::Alpha},        {".diff_b", Role::DiffBias},
    {".diff_m", Role::DiffModulation}, {".diff", Role::Diff},
};

// Adapter types this reader does not apply, by a key fragment only they use.
struct OtherAdapter {
  const char* fragment;
  const char* name;
};
constexpr OtherAdapter kOtherAdapters[] = {
    {".hada_w1_a", "LoHa"},
    {".hada_w2_a", "LoHa"},
    {".lokr_w1", "LoKr"},
    {".lokr_w2", "LoKr"},
    {".oft_blocks", "OFT"},
    {".oft_diag", "OFT"},
    {".dora_scale", "DoRA"},
    {".lora_mid.", "LoCon (Tucker)"},
    {".a1.weight", "GLoRA"},
    {".b1.weight", "GLoRA"},
    {".lora_magnitude_vector", "DoRA"},
};

// Wan-Fun (VideoX-Fun) files write kohya names with a double underscore after lora_unet
// (lora_unet__blocks_0_self_attn_q): any key so named marks the file, whichever layers it holds.
constexpr const char* kWanFunPrefix = "lora_unet__";

// Resolves the module part of keys to official module paths of the model.
class ModuleResolver {
 public:
  explicit ModuleResolver(const ParameterShapes& model) {
    for (const auto& [name, shape] : model)
      if (ends_with(name, ".weight")) {
        std::string kohya = name.substr(0, name.size() - 7);
        for (auto& c : kohya)
          if (c == '.') c = '_';
        kohya_[kohya] = name.substr(0, name.size() - 7);
      }
  }

  // The official module path a key's module names, or nullopt.
  std::optional<std::string> resolve(const std::string& module) const {
    if (starts_with(module, "lora_unet_")) {
      auto it = kohya_.find(module.substr(10));
      if (it == kohya_.end()) return std::nullopt;
      return it->second;
    }
    if (starts_with(module, "transformer.")) {
      // Through the diffusers rows of the name table, which rename whole parameter names.
      const auto renamed = official_name(ModelFamily::DiT, "diffusers", module.substr(12) + ".weight");
      if (!renamed) return std::nullopt;
      return renamed->substr(0, renamed->size() - 7);
    }
    for (const char* prefix : {"model.diffusion_model.", "diffusion_model."})
      if (starts_with(module, prefix)) return module.substr(std::string(prefix).size());
    return module;  // official names without a prefix
  }

 private:
  std::map<std::string, std::string> kohya_;  // "blocks_0_self_attn_q" -> "blocks.0.self_attn.q"
};

std::string guess_format(const std::vector<std::string>& keys, bool wan_fun) {
  if (wan_fun) return "wan-fun";
  size_t kohya = 0, diffusers = 0;
  for (const auto& k : keys) {
    kohya += starts_with(k, "lora_unet_");
    diffusers += starts_with(k, "transformer.");
  }
  if (kohya * 2 > keys.size()) return "kohya";
  if (diffusers * 2 > keys.size()) return "diffusers";
  return "official";
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

at::Tensor as_float(const at::Tensor& t) { return t.to(at::kCPU, at::kFloat).contiguous(); }

}  // namespace

at::Tensor LoraPatch::delta(const std::vector<int64_t>& shape, const at::Device& device, double strength) const {
  if (!low_rank()) return diff.to(device).reshape(shape).mul(strength);
  // ComfyUI: mm(up.flatten(1), down.flatten(1)), then (strength * alpha / rank), a double
  // product, in one float32 multiply.
  const at::Tensor product = at::mm(up.to(device).flatten(1), down.to(device).flatten(1)).reshape(shape);
  return product.mul_(strength * alpha_over_rank);
}

LoraFile read_lora_file(const std::string& path, const ParameterShapes& model) {
  TensorMap tensors;
  try {
    tensors = load_checkpoint_file(path);
  } catch (const std::exception& e) {
    throw Error("LoRA " + path + ": " + one_line_message(e));
  }
  return resolve_lora(path, tensors, model);
}

LoraFile resolve_lora(const std::string& path, const TensorMap& tensors, const ParameterShapes& model) {
  LoraFile lora;
  lora.path = path;
  if (tensors.empty()) throw Error("LoRA " + path + " holds no tensors");

  for (const auto& [key, t] : tensors)
    for (const auto& other : kOtherAdapters)
      if (key.find(other.fragment) != std::string::npos)
        throw Error("LoRA " + path + " is a " + other.name + " adapter (key '" + key +
                    "'): only LoRA pairs (lora_down/lora_up, lora_A/lora_B, alpha) and full deltas (diff, diff_b) "
                    "can be applied");

  bool wan_fun = false;
  std::vector<std::string> keys;
  for (const auto& kv : tensors) {
    keys.push_back(kv.first);
    wan_fun = wan_fun || starts_with(kv.first, kWanFunPrefix);
  }
  lora.format = guess_format(keys, wan_fun);

  // Group the keys by module, each with the tensors of its roles.
  std::map<std::string, std::map<Role, std::pair<std::string, at::Tensor>>> modules;
  std::vector<std::string> unknown;
  for (const auto& [stored_key, t] : tensors) {
    std::string key = stored_key;
    if (starts_with(key, kWanFunPrefix)) key = "lora_unet_" + key.substr(std::string(kWanFunPrefix).size());
    bool matched = false;
    for (const auto& s : kSuffixes)
      if (ends_with(key, s.text)) {
        modules[key.substr(0, key.size() - std::string(s.text).size())][s.role] = {stored_key, t};
        matched = true;
        break;
      }
    if (!matched) unknown.push_back(stored_key);
  }

  const ModuleResolver resolver(model);
  auto shape_of = [&](const std::string& name) -> const std::vector<int64_t>* {
    auto it = model.find(name);
    return it == model.end() ? nullptr : &it->second;
  };
  auto misfit = [&](const std::string& key, at::IntArrayRef got, const std::string& param,
                    const std::vector<int64_t>& want) {
    return Error("LoRA " + path + ": '" + key + "' has shape " + shape_text(got) + ", which does not fit " + param +
                 " " + shape_text(want) + kAnotherModel);
  };

  for (auto& entry : modules) {
    const std::string& module = entry.first;
    auto& roles = entry.second;  // not a structured binding: lambdas capture it (C++17)
    const std::optional<std::string> resolved = resolver.resolve(module);
    auto first_key = roles.begin()->second.first;
    if (!resolved) {
      unknown.push_back(first_key);
      continue;
    }
    const std::string& m = *resolved;
    auto has = [&](Role r) { return roles.count(r) != 0; };

    if (has(Role::DiffBias)) {
      const auto& [key, t] = roles[Role::DiffBias];
      const auto* shape = shape_of(m + ".bias");
      if (!shape) {
        unknown.push_back(key);
      } else {
        if (t.numel() != numel_of(*shape)) throw misfit(key, t.sizes(), m + ".bias", *shape);
        lora.patches[m + ".bias"].diff = as_float(t).reshape(*shape);
      }
    }
    if (has(Role::Diff) || has(Role::DiffModulation)) {
      // A full delta of M.weight, or of the parameter named M itself (blocks.N.modulation).
      const auto& [key, t] = has(Role::Diff) ? roles[Role::Diff] : roles[Role::DiffModulation];
      std::string target = shape_of(m + ".weight") ? m + ".weight" : m;
      if (has(Role::DiffModulation) && !has(Role::Diff) && shape_of(m + ".modulation")) target = m + ".modulation";
      const auto* shape = shape_of(target);
      if (!shape) {
        unknown.push_back(key);
        continue;
      }
      if (t.numel() != numel_of(*shape)) throw misfit(key, t.sizes(), target, *shape);
      LoraPatch patch;
      patch.diff = as_float(t).reshape(*shape);
      lora.patches[target] = patch;  // ComfyUI keeps the diff when a pair names the same module
      continue;
    }
    if (!has(Role::Down) && !has(Role::Up)) {
      if (has(Role::Alpha)) unknown.push_back(roles[Role::Alpha].first);
      continue;
    }
    if (!has(Role::Down) || !has(Role::Up))
      throw Error("LoRA " + path + ": '" + first_key + "' has no " + (has(Role::Down) ? "up" : "down") +
                  " matrix to pair with (a truncated or partial file?)");
    const std::string target = m + ".weight";
    const auto* shape = shape_of(target);
    if (!shape) {
      unknown.push_back(roles[Role::Down].first);
      continue;
    }
    const auto& [down_key, down] = roles[Role::Down];
    const auto& [up_key, up] = roles[Role::Up];
    const int64_t rank = down.dim() >= 1 ? down.size(0) : 0;
    // up is [out, rank] or [out, rank, 1, 1] (conv): it is applied as up.flatten(1).
    if (down.dim() < 2 || up.dim() < 2 || up.size(1) != rank || rank == 0 || up.numel() / rank != up.size(0))
      throw Error("LoRA " + path + ": '" + down_key + "' " + shape_text(down.sizes()) + " and '" + up_key + "' " +
                  shape_text(up.sizes()) + " are not a down / up pair of one rank");
    const int64_t out = up.size(0), in = down.numel() / rank;
    if (shape->empty() || (*shape)[0] != out || out * in != numel_of(*shape))
      throw Error("LoRA " + path + ": '" + up_key + "' " + shape_text(up.sizes()) + " x '" + down_key + "' " +
                  shape_text(down.sizes()) + " gives " + shape_text({out, in}) + "; the model's " + target + " is " +
                  shape_text(*shape) + kAnotherModel);
    LoraPatch patch;
    patch.down = as_float(down);
    patch.up = as_float(up);
    if (has(Role::Alpha)) {
      const auto& [alpha_key, alpha] = roles[Role::Alpha];
      if (alpha.numel() != 1) throw Error("LoRA " + path + ": '" + alpha_key + "' is not a single number");
      patch.alpha_over_rank = as_float(alpha).item<double>() / static_cast<double>(rank);
    }
    lora.patches[target] = patch;
  }

  if (!unknown.empty()) {
    std::string names;
    for (size_t i = 0; i < unknown.size() && i < 4; ++i) names += (i ? ", '" : "'") + unknown[i] + "'";
    if (unknown.size() > 4) names += " and " + std::to_string(unknown.size() - 4) + " more";
    throw Error("LoRA " + path + " (" + lora.format + " format, by its keys): " + std::to_string(unknown.size()) +
                " of its keys reach no parameter of this model: " + names +
                " (a LoRA for another model, e.g. an image-to-video LoRA on a text-to-video model?)");
  }
  if (lora.patches.empty()) throw Error("LoRA " + path + " changes no parameter");
  return lora;
}

}  // namespace wan
