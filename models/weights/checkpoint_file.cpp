#include "models/weights/checkpoint_file.h"

#include <filesystem>
#include <fstream>

#include "models/common/error.h"
#include "models/weights/pth_file.h"
#include "models/weights/safetensors.h"

namespace wan {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_like_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

}  // namespace

TensorMap load_checkpoint_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error("checkpoint '" + path + "' does not exist or is not a file");
  if (ends_with(path, ".safetensors") || ends_with(path, ".index.json")) return load_safetensors(path);
  for (const char* ext : {".pth", ".pt", ".ckpt", ".bin"})
    if (ends_with(path, ext)) return load_pth(path);
  // An unusual name: torch.save archives are zip files, anything else is tried as safetensors.
  if (starts_like_zip(path)) return load_pth(path);
  return load_safetensors(path);
}

}  // namespace wan
