#include "pipeline/device_visit.h"

#include <torch/csrc/autograd/grad_mode.h>

#include "models/common/same_kind.h"

namespace wan {

namespace {

// Parameters, then buffers: the tensors a module's to() would move.
std::vector<at::Tensor> module_tensors(torch::nn::Module& module) {
  std::vector<at::Tensor> tensors = module.parameters();
  for (const at::Tensor& b : module.buffers()) tensors.push_back(b);
  return tensors;
}

}  // namespace

DeviceVisit::DeviceVisit(torch::nn::Module& module, const at::Device& device) {
  torch::NoGradGuard no_grad;
  for (at::Tensor& t : module_tensors(module)) {
    if (t.device() == device) continue;
    const auto same_kind = same_kind_as(t);
    // variable_data(): a second handle on the host storage that set_data below leaves alone.
    visitors_.emplace_back(t, t.variable_data());
    t.set_data(t.to(device, /*non_blocking=*/true));
  }
}

DeviceVisit::~DeviceVisit() {
  torch::NoGradGuard no_grad;
  for (auto& [tensor, host] : visitors_) {
    const auto same_kind = same_kind_as(tensor);
    tensor.set_data(host);
  }
}

}  // namespace wan
