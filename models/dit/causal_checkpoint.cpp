#include "models/dit/causal_checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "models/common/error.h"
#include "models/weights/pth_file.h"

namespace wan {
namespace {

namespace fs = std::filesystem;

constexpr const char* kGenerators[] = {"generator_ema.", "generator."};  // in order of preference

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_torch_save_name(const std::string& path) {
  return ends_with(path, ".pt") || ends_with(path, ".pth") || ends_with(path, ".ckpt");
}

// The generator dict the file holds ("generator_ema." or "generator."), or "" for none.
std::string generator_prefix(const std::string& file) {
  const std::vector<std::string> names = pth_tensor_names(file);
  for (const char* prefix : kGenerators)
    for (const auto& name : names)
      if (name.rfind(prefix, 0) == 0) return prefix;
  return "";
}

bool has_bidirectional_dit(const fs::path& dir) {
  for (const fs::path& d : {dir, dir / "transformer"})
    for (const char* f : {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.safetensors.index.json"})
      if (fs::exists(d / f)) return true;
  return false;
}

// The torch.save files of a folder that hold a generator, sorted.
std::vector<std::string> generator_files(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string p = entry.path().string();
    if (entry.is_regular_file() && is_torch_save_name(p) && !generator_prefix(p).empty()) found.push_back(p);
  }
  std::sort(found.begin(), found.end());
  return found;
}

// Removes every occurrence of `part` from `name`.
std::string without(std::string name, const std::string& part) {
  for (size_t at = name.find(part); at != std::string::npos; at = name.find(part)) name.erase(at, part.size());
  return name;
}

}  // namespace

const char* to_string(DiTKind kind) { return kind == DiTKind::Causal ? "causal" : "bidirectional"; }

DiTKind dit_checkpoint_kind(const std::string& path) {
  const fs::path p(path);
  if (fs::is_directory(p)) {
    if (has_bidirectional_dit(p)) return DiTKind::Bidirectional;
    if (!generator_files(p).empty()) return DiTKind::Causal;
    throw Error("checkpoint folder " + path +
                " holds no DiT: neither diffusion_pytorch_model.safetensors (official or diffusers transformer/) "
                "nor a causal training checkpoint (.pt with a generator, e.g. Self-Forcing's self_forcing_dmd.pt)");
  }
  if (!fs::is_regular_file(p)) throw Error("DiT checkpoint " + path + " does not exist");
  if (is_torch_save_name(path)) return generator_prefix(path).empty() ? DiTKind::Bidirectional : DiTKind::Causal;
  return DiTKind::Bidirectional;
}

std::string causal_checkpoint_file(const std::string& path) {
  if (!fs::is_directory(path)) {
    if (dit_checkpoint_kind(path) != DiTKind::Causal)
      throw Error(path + " is not a causal DiT checkpoint (a torch.save file with a generator or generator_ema dict)");
    return path;
  }
  const std::vector<std::string> files = generator_files(path);
  if (files.empty()) throw Error("checkpoint folder " + path + " holds no causal DiT (.pt with a generator)");
  if (files.size() > 1)
    throw Error("checkpoint folder " + path + " holds " + std::to_string(files.size()) + " causal DiTs (" + files[0] +
                ", " + files[1] + ", ...): name the file");
  return files[0];
}

TensorMap read_causal_generator(const std::string& path) {
  const std::string file = causal_checkpoint_file(path);
  const std::string prefix = generator_prefix(file);
  TensorMap tensors;
  for (auto& [name, tensor] : load_pth(file, prefix)) {
    std::string official = without(without(name, "_fsdp_wrapped_module."), "_checkpoint_wrapped_module.");
    if (official.rfind("model.", 0) == 0) official = official.substr(6);
    if (!tensors.emplace(official, tensor).second)
      throw Error(file + ": " + prefix + " holds '" + official + "' twice (with and without its prefix)");
  }
  if (tensors.empty()) throw Error(file + ": the " + prefix.substr(0, prefix.size() - 1) + " dict holds no tensors");
  return tensors;
}

}  // namespace wan
