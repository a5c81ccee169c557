// save_pth writes what load_pth (and torch.load) read back: names, dtypes,
// shapes and values, including 0-d and empty tensors and non-contiguous input.
#include <unistd.h>

#include <filesystem>

#include <ATen/ATen.h>

#include "models/weights/pth_file.h"
#include "models/weights/pth_writer.h"
#include "tests/unit/check.h"

int main() {
  namespace fs = std::filesystem;
  const fs::path file = fs::temp_directory_path() / ("wan-test-pth-writer-" + std::to_string(::getpid()) + ".pth");
  at::manual_seed(3);
  wan::TensorMap tensors = {
      {"blocks.0.weight", at::randn({4, 3})},
      {"blocks.0.bias", at::randn({3}).to(at::kBFloat16)},
      {"half", at::randn({2, 2, 2}).to(at::kHalf)},
      {"transposed", at::randn({3, 5}).t()},
      {"ids", at::arange(7, at::kLong)},
      {"scalar", at::full({}, 2.5, at::kFloat)},
      {"empty", at::empty({0, 4}, at::kFloat)},
      {"mask", at::ones({3}, at::kBool)},
  };
  wan::save_pth(file.string(), tensors);
  const wan::TensorMap back = wan::load_pth(file.string());
  EXPECT_MSG(back.size() == tensors.size(), std::to_string(back.size()) + " tensors read back");
  for (const auto& [name, t] : tensors) {
    auto it = back.find(name);
    if (it == back.end()) {
      EXPECT_MSG(false, "missing " + name);
      continue;
    }
    EXPECT_MSG(it->second.scalar_type() == t.scalar_type() && it->second.sizes() == t.sizes(), name);
    EXPECT_MSG(at::equal(it->second, t), name);
  }
  EXPECT_ERROR(wan::save_pth(file.string(), {{"c", at::zeros({2}, at::kComplexFloat)}}), "unsupported dtype");
  EXPECT_ERROR(wan::save_pth("/nonexistent-dir/x.pth", tensors), "/nonexistent-dir/x.pth");
  fs::remove(file);
  return wan::test::check_exit("test-pth-writer");
}
