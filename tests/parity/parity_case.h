// One reference case of tests/fixtures (format: tests/fixtures/README.md):
// case.json, config.json and io.safetensors, with inputs and expected outputs.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/weights/tensor_map.h"

namespace wan::parity {

class ParityCase {
 public:
  // Inputs are handed out on `device` (outputs are compared on the CPU); `dtype` is the
  // compute dtype of the matrix-heavy layers (float32 for the reference cases; runners
  // that support bf16 honour it).
  explicit ParityCase(const std::filesystem::path& dir, const at::Device& device = at::kCPU,
                      at::ScalarType dtype = at::kFloat);

  const std::filesystem::path& dir() const { return dir_; }
  const at::Device& device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  const std::string& kind() const { return kind_; }
  const nlohmann::json& meta() const { return meta_; }      // case.json
  const nlohmann::json& config() const { return config_; }  // config.json (null if absent)
  const nlohmann::json& args() const { return meta_.at("args"); }

  // case.json "files"[key] resolved against the case folder.
  std::filesystem::path file(const std::string& key) const;

  bool has(const std::string& name) const { return io_.count(name) != 0; }
  // A stored tensor on device(); floating tensors (BF16/F16) upcast to float32.
  at::Tensor tensor(const std::string& name) const;
  // A Python list stored as name.0, name.1, ...
  std::vector<at::Tensor> tensor_list(const std::string& name) const;
  const TensorMap& io() const { return io_; }

  // A runner option given on the command line (--lora-mode runtime), or `fallback`.
  std::string option(const std::string& name, const std::string& fallback) const {
    auto it = options_.find(name);
    return it == options_.end() ? fallback : it->second;
  }
  void set_option(const std::string& name, const std::string& value) { options_[name] = value; }

 private:
  std::filesystem::path dir_;
  at::Device device_;
  at::ScalarType dtype_;
  std::string kind_;
  nlohmann::json meta_;
  nlohmann::json config_;
  TensorMap io_;
  std::map<std::string, std::string> options_;
};

// Collects comparisons, prints one line per output, decides the exit code.
class ParityReport {
 public:
  explicit ParityReport(double tolerance = 1e-4) : tolerance_(tolerance) {}
  // Relative L2 error (float64) for floating outputs, exact match for integers.
  void compare(const std::string& name, const at::Tensor& got, const at::Tensor& expected);
  // Compares got[i] with expected name.i for each element of the list.
  void compare_list(const std::string& name, const std::vector<at::Tensor>& got,
                    const std::vector<at::Tensor>& expected);
  // Records a check that is not a tensor (e.g. "token ids") with a message.
  void check(const std::string& name, bool ok, const std::string& detail);
  int failures() const { return failures_; }
  int count() const { return count_; }

 private:
  double tolerance_;
  int failures_ = 0;
  int count_ = 0;
};

// A runner for one `kind`. Each parity_<kind>.cpp registers itself with a
// static ParityKind object.
using ParityRunner = void (*)(const ParityCase&, ParityReport&);

struct ParityKind {
  ParityKind(const char* kind, ParityRunner runner);
};

ParityRunner find_runner(const std::string& kind);
std::vector<std::string> known_kinds();

}  // namespace wan::parity
