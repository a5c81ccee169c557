// Linear layers of the DiT. Inside a SkipParameterInit scope they are allocated
// on the scope's device but not initialised: loading overwrites every value,
// and libtorch's serial CPU initialisation of 16 B parameters took two minutes.
#pragma once
#include <cstdint>

#include <c10/core/Device.h>
#include <torch/nn/modules/linear.h>

namespace wan::dit {

class SkipParameterInit {
 public:
  explicit SkipParameterInit(const c10::Device& device);
  ~SkipParameterInit();
  SkipParameterInit(const SkipParameterInit&) = delete;
  SkipParameterInit& operator=(const SkipParameterInit&) = delete;

 private:
  bool previous_active_;
  c10::Device previous_device_;
};

// torch::nn::Linear(in, out), float32, initialised unless a SkipParameterInit is active.
torch::nn::Linear make_linear(int64_t in, int64_t out);

}  // namespace wan::dit
