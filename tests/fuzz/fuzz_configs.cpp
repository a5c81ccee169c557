// libFuzzer target: the config readers. The DiT's config.json reader and
// infer_from_weights, the VAE's config.json reader (and the parameter list it
// implies), and umT5 / CLIP configs from config.json or read off tensor shapes
// must reject any input with wan::Error and never crash, hang or leak.
// Input: config.json text, then a NUL byte, then one tensor per line as
// "name d0,d1,..." (the shapes become meta tensors, so sizes cost nothing).
// The VAE's JSON errors are accepted as nlohmann::json exceptions, since its
// caller (vae_loader.cpp) turns those into wan::Error.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "models/clip/clip_config.h"
#include "models/common/error.h"
#include "models/dit/dit_config.h"
#include "models/t5/t5_config.h"
#include "models/vae/vae_config.h"

namespace {

// "name 1,2,3": sizes are decimal, at most 8 axes, at most 2^40 elements (what a safetensors header within a
// file of that size could describe); other lines are skipped.
void add_tensor(wan::TensorMap& weights, const std::string& line) {
  const size_t space = line.rfind(' ');
  if (space == std::string::npos) return;
  std::vector<int64_t> shape;
  int64_t numel = 1;
  size_t pos = space + 1;
  while (pos < line.size() && shape.size() < 8) {
    const size_t comma = std::min(line.find(',', pos), line.size());
    const std::string field = line.substr(pos, comma - pos);
    if (field.empty() || field.size() > 12 || field.find_first_not_of("0123456789") != std::string::npos) return;
    const int64_t size = std::strtoll(field.c_str(), nullptr, 10);
    if (size != 0 && numel > (int64_t{1} << 40) / size) return;
    numel *= size;
    shape.push_back(size);
    pos = comma + 1;
  }
  weights[line.substr(0, space)] = at::empty(shape, at::TensorOptions().dtype(at::kFloat).device(at::kMeta));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string text = input.substr(0, nul);
  wan::TensorMap weights;
  if (nul != std::string::npos) {
    size_t start = nul + 1;
    while (start < input.size() && weights.size() < 512) {
      size_t end = std::min(input.find('\n', start), input.size());
      add_tensor(weights, input.substr(start, end - start));
      start = end + 1;
    }
  }

  try {
    wan::DiTConfig config = wan::DiTConfig::from_json_text(text, "fuzz");
    config.infer_from_weights(weights);
    config.validate();
  } catch (const wan::Error&) {
  }
  try {
    wan::DiTConfig config;  // a bare weights file: everything from the shapes
    config.infer_from_weights(weights);
    config.validate();
  } catch (const wan::Error&) {
  }

  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) {
    try {
      const wan::vae::VAEConfig vae = wan::vae::vae_config_from_json(json);
      vae.validate();
      (void)vae.parameter_shapes();
    } catch (const wan::Error&) {
    } catch (const nlohmann::json::exception&) {
    }
    try {
      (void)wan::T5Config::from_json(json);
    } catch (const wan::Error&) {
    }
    try {
      (void)wan::ClipVisionConfig::from_json(json);
    } catch (const wan::Error&) {
    }
  }

  try {
    (void)wan::T5Config::from_weights(weights);
  } catch (const wan::Error&) {
  }
  try {
    wan::ClipVisionConfig::from_weights(weights).validate();
  } catch (const wan::Error&) {
  }
  return 0;
}
