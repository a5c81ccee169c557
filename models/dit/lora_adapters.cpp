#include "models/dit/lora_adapters.h"

#include <c10/core/GradMode.h>

#include "models/common/error.h"
#include "models/dit/linear.h"

namespace wan {
namespace {

std::map<std::string, at::Tensor> parameters_of(torch::nn::Module& model) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) out.emplace(p.key(), p.value());
  return out;
}

// base + sum(strength * delta) in float32 on `compute`, in file order.
at::Tensor patched_value(const at::Tensor& base, const std::vector<std::pair<size_t, const LoraPatch*>>& patches,
                         const std::vector<double>& strengths, const at::Device& compute) {
  at::Tensor w = base.to(compute, at::kFloat, /*non_blocking=*/false, /*copy=*/true);
  for (const auto& [file, patch] : patches) {
    if (strengths[file] == 0) continue;
    // ComfyUI: the scaled patch, rounded to float32, then added.
    w.add_(patch->delta(w.sizes().vec(), compute, strengths[file]));
  }
  return w;
}

}  // namespace

ParameterShapes parameter_shapes(torch::nn::Module& model) {
  ParameterShapes shapes;
  for (const auto& [name, p] : parameters_of(model)) shapes.emplace(name, p.sizes().vec());
  return shapes;
}

void merge_loras(torch::nn::Module& model, const std::vector<LoraFile>& files, const std::vector<double>& strengths,
                 const TensorMap& base, const at::Device& compute) {
  if (strengths.size() != files.size()) throw Error("merge_loras: one strength per LoRA file");
  std::map<std::string, std::vector<std::pair<size_t, const LoraPatch*>>> by_parameter;
  for (size_t f = 0; f < files.size(); ++f)
    for (const auto& [name, patch] : files[f].patches) by_parameter[name].emplace_back(f, &patch);
  const auto params = parameters_of(model);
  c10::AutoGradMode no_grad(false);
  for (const auto& [name, patches] : by_parameter) {
    at::Tensor param = params.at(name);
    const auto stored = base.find(name);
    const at::Tensor& from = stored != base.end() ? stored->second : param;
    param.copy_(patched_value(from, patches, strengths, compute));
  }
}

RuntimeLoras::RuntimeLoras(torch::nn::Module& model, std::vector<LoraFile> files, const at::Device& compute)
    : files_(std::move(files)), strengths_(files_.size(), 0.0), compute_(compute) {
  std::map<std::string, dit::LinearImpl*> linears;
  for (const auto& m : model.named_modules(/*name_prefix=*/"", /*include_self=*/false))
    if (auto* linear = m.value()->as<dit::LinearImpl>()) linears.emplace(m.key() + ".weight", linear);
  const auto params = parameters_of(model);

  c10::AutoGradMode no_grad(false);
  std::map<std::string, size_t> patched_index;
  for (size_t f = 0; f < files_.size(); ++f)
    for (const auto& [name, patch] : files_[f].patches) {
      const auto linear = linears.find(name);
      if (patch.low_rank() && linear != linears.end()) {
        dit::LinearImpl* layer = linear->second;
        const at::TensorOptions options = at::TensorOptions().device(compute).dtype(layer->activation_dtype());
        layer->adapters.push_back(
            dit::LowRankAdapter{patch.down.flatten(1).to(options), patch.up.flatten(1).to(options), 0.0});
        linear_terms_.push_back(LinearTerm{layer, layer->adapters.size() - 1, f, patch.alpha_over_rank});
        continue;
      }
      if (linear != linears.end() && linear->second->is_fp8())
        throw Error("LoRA " + files_[f].path + ": " + name +
                    " changes a whole fp8 weight, which cannot be applied at run time (use lora-mode merge)");
      auto [it, fresh] = patched_index.emplace(name, patched_.size());
      if (fresh) {
        const at::Tensor param = params.at(name);
        patched_.push_back(PatchedParameter{param, param.clone(), {}});
      }
      patched_[it->second].patches.emplace_back(f, &patch);
    }
}

void RuntimeLoras::set_strengths(const std::vector<double>& strengths) {
  if (strengths.size() != files_.size())
    throw Error("LoRA strengths: " + std::to_string(strengths.size()) + " given for " + std::to_string(files_.size()) +
                " files");
  if (strengths == strengths_) return;
  c10::AutoGradMode no_grad(false);
  // Recorded only once every parameter holds them: a failed copy is retried by the next call.
  strengths_.clear();
  for (auto& p : patched_) p.parameter.copy_(patched_value(p.base, p.patches, strengths, compute_));
  for (const auto& term : linear_terms_)
    term.layer->adapters[term.adapter].scale = strengths[term.file] * term.alpha_over_rank;
  strengths_ = strengths;
}

}  // namespace wan
