// A model kept in host memory that visits the compute device for one phase
// (MemoryMode::Sequential: the DiT for the denoise only).
#pragma once
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

namespace wan {

// For its lifetime the module's parameters and buffers are copies on `device`;
// on leaving they point at their host tensors again. Inference never writes
// the weights, so the host tensors stay valid and leaving copies nothing back
// (module.to(host) copied the 28 GB i2v-14B DiT back into fresh pageable
// memory: about 25 s per 720p request on an H200 host). The host tensors are
// left pageable: page-locking them made copies to the GPU a few seconds faster
// per request but cost 34 s at load.
class DeviceVisit {
 public:
  DeviceVisit(torch::nn::Module& module, const at::Device& device);
  ~DeviceVisit();
  DeviceVisit(const DeviceVisit&) = delete;
  DeviceVisit& operator=(const DeviceVisit&) = delete;

 private:
  std::vector<std::pair<at::Tensor, at::Tensor>> visitors_;  // (the module's tensor, its host data)
};

}  // namespace wan
