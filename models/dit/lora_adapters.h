// LoRAs on a loaded DiT, two ways:
//   * merged: each changed parameter becomes base + sum(strength * delta), computed in
//     float32 and rounded once to the parameter's dtype; nothing is left to do per step;
//   * at run time: low-rank pairs on the blocks' Linear layers stay factors
//     (dit::LinearImpl::adapters, y += scale * up(down x)); every other change (full deltas,
//     biases, norms, modulation, layers outside the blocks) is re-applied to a kept copy of
//     the parameter whenever the strengths change. Strengths change without reloading.
#pragma once
#include <memory>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "models/weights/lora_file.h"
#include "models/weights/tensor_map.h"

namespace wan {
namespace dit {
struct LinearImpl;
}

// Every parameter of `model` by name with its shape (what LoRA keys are resolved against).
ParameterShapes parameter_shapes(torch::nn::Module& model);

// Adds strength * delta of each file, in order, to the parameters. `base`: the checkpoint's
// tensors under the parameters' names (their stored precision, so the sum is rounded once);
// parameters absent from it start from their current value. The arithmetic runs on `compute`.
void merge_loras(torch::nn::Module& model, const std::vector<LoraFile>& files, const std::vector<double>& strengths,
                 const TensorMap& base, const at::Device& compute);

class RuntimeLoras {
 public:
  // Attaches `files` to `model` at strength 0 (no effect until set_strengths); the factors
  // go to `compute` in each layer's weight dtype.
  RuntimeLoras(torch::nn::Module& model, std::vector<LoraFile> files, const at::Device& compute);
  RuntimeLoras(const RuntimeLoras&) = delete;
  RuntimeLoras& operator=(const RuntimeLoras&) = delete;

  // One strength per file, in the order given at construction.
  void set_strengths(const std::vector<double>& strengths);
  const std::vector<double>& strengths() const { return strengths_; }
  const std::vector<LoraFile>& files() const { return files_; }
  // True when some file changes parameters themselves (full deltas), not only adds factors.
  bool patches_parameters() const { return !patched_.empty(); }

 private:
  struct LinearTerm {
    dit::LinearImpl* layer;
    size_t adapter;  // index into layer->adapters
    size_t file;
    double alpha_over_rank;
  };
  struct PatchedParameter {
    at::Tensor parameter, base;
    std::vector<std::pair<size_t, const LoraPatch*>> patches;  // (file, patch) in file order
  };
  std::vector<LoraFile> files_;
  std::vector<LinearTerm> linear_terms_;
  std::vector<PatchedParameter> patched_;
  std::vector<double> strengths_;
  at::Device compute_;
};

}  // namespace wan
