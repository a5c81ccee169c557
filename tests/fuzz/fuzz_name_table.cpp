// libFuzzer target: the checkpoint name table (prefix stripping, layout
// detection, renames, concatenations, added unit axes) must turn any set of
// tensor names into official names or reject it with wan::Error, and never
// crash, hang or leak. Input: a byte choosing the model family, then one
// tensor per line; the line's first byte picks a tiny shape, the rest is the name.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "models/common/error.h"
#include "models/weights/checkpoint_layout.h"

namespace {

at::Tensor tiny_tensor(uint8_t selector) {
  static const std::vector<std::vector<int64_t>> shapes = {{}, {1}, {2}, {1, 2}, {2, 2}, {3, 1, 2}, {0}, {2, 0, 1}};
  return at::zeros(shapes[selector % shapes.size()], at::kFloat);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const wan::ModelFamily families[] = {wan::ModelFamily::DiT, wan::ModelFamily::VAE, wan::ModelFamily::T5,
                                              wan::ModelFamily::CLIP};
  const wan::ModelFamily family = families[data[0] % 4];
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  wan::TensorMap weights;
  size_t start = 0;
  while (start < input.size() && weights.size() < 256) {
    size_t end = input.find('\n', start);
    if (end == std::string::npos) end = input.size();
    if (end > start) weights[input.substr(start + 1, end - start - 1)] = tiny_tensor(input[start]);
    start = end + 1;
  }
  try {
    std::string layout;
    const wan::TensorMap official = wan::to_official_names(family, weights, &layout);
    for (const auto& [name, t] : official) (void)wan::official_name(family, layout, name);
    (void)wan::from_official_names(family, "diffusers", official);
  } catch (const wan::Error&) {
  }
  return 0;
}
