// libFuzzer target: the LoRA key grammar. resolve_lora must turn any set of
// keys and shapes (kohya / Wan-Fun `lora_unet_...`, official names with or
// without `diffusion_model.`, diffusers `transformer....`, their down / up /
// alpha / diff suffixes, other adapter types) into patches that fit the model
// or a wan::Error, and every patch it returns must make a delta of its
// parameter's shape.
// Input: one tensor per line as "key d0,d1,..." ("key ." for a 0-d tensor);
// each tensor is filled with its line number / 4, so alphas vary.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "models/common/error.h"
#include "models/weights/lora_file.h"

namespace {

// A two-block DiT of width 8 (official names), as the LoRA reader sees a model.
wan::ParameterShapes tiny_dit() {
  wan::ParameterShapes m = {
      {"patch_embedding.weight", {8, 4, 1, 2, 2}},
      {"patch_embedding.bias", {8}},
      {"text_embedding.0.weight", {8, 16}},
      {"text_embedding.0.bias", {8}},
      {"text_embedding.2.weight", {8, 8}},
      {"time_embedding.0.weight", {8, 4}},
      {"time_projection.1.weight", {48, 8}},
      {"head.head.weight", {16, 8}},
      {"head.modulation", {1, 2, 8}},
      {"img_emb.proj.1.weight", {8, 8}},
  };
  for (const std::string block : {"blocks.0.", "blocks.1."}) {
    for (const std::string attn : {"self_attn.", "cross_attn."}) {
      for (const std::string p : {"q.", "k.", "v.", "o."}) {
        m[block + attn + p + "weight"] = {8, 8};
        m[block + attn + p + "bias"] = {8};
      }
      m[block + attn + "norm_q.weight"] = {8};
    }
    m[block + "cross_attn.k_img.weight"] = {8, 8};
    m[block + "ffn.0.weight"] = {16, 8};
    m[block + "ffn.0.bias"] = {16};
    m[block + "ffn.2.weight"] = {8, 16};
    m[block + "norm3.weight"] = {8};
    m[block + "modulation"] = {1, 6, 8};
  }
  return m;
}

// "key 1,2,3" or "key .": sizes are decimal, at most 6 axes, at most 4096 elements; other lines are skipped.
void add_tensor(wan::TensorMap& tensors, const std::string& line, int index) {
  const size_t space = line.rfind(' ');
  if (space == std::string::npos) return;
  std::vector<int64_t> shape;
  const std::string dims = line.substr(space + 1);
  if (dims != ".") {
    int64_t numel = 1;
    size_t pos = 0;
    while (pos <= dims.size() && shape.size() < 6) {
      const size_t comma = std::min(dims.find(',', pos), dims.size());
      const std::string field = dims.substr(pos, comma - pos);
      if (field.empty() || field.size() > 4 || field.find_first_not_of("0123456789") != std::string::npos) return;
      const int64_t size = std::strtoll(field.c_str(), nullptr, 10);
      numel *= size;
      if (numel > 4096) return;
      shape.push_back(size);
      pos = comma + 1;
    }
  }
  tensors[line.substr(0, space)] = at::full(shape, index / 4.0, at::kFloat);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const wan::ParameterShapes model = tiny_dit();
  const std::string input(reinterpret_cast<const char*>(data), size);
  wan::TensorMap tensors;
  int index = 0;
  for (size_t start = 0; start < input.size() && tensors.size() < 256;) {
    const size_t end = std::min(input.find('\n', start), input.size());
    add_tensor(tensors, input.substr(start, end - start), ++index);
    start = end + 1;
  }
  try {
    const wan::LoraFile lora = wan::resolve_lora("fuzz.safetensors", tensors, model);
    for (const auto& [name, patch] : lora.patches) {
      const std::vector<int64_t>& shape = model.at(name);  // a patch for a parameter the model lacks is a bug
      const at::Tensor delta = patch.delta(shape, at::kCPU, 0.5);
      if (delta.sizes() != at::IntArrayRef(shape)) std::abort();
    }
  } catch (const wan::Error&) {
  }
  return 0;
}
