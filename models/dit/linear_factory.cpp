#include "models/dit/linear_factory.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace wan::dit {
namespace {

thread_local bool skip_active = false;
thread_local c10::Device skip_device = c10::Device(c10::kCPU);

}  // namespace

SkipParameterInit::SkipParameterInit(const c10::Device& device)
    : previous_active_(skip_active), previous_device_(skip_device) {
  skip_active = true;
  skip_device = device;
}

SkipParameterInit::~SkipParameterInit() {
  skip_active = previous_active_;
  skip_device = previous_device_;
}

torch::nn::Linear make_linear(int64_t in, int64_t out) {
  if (!skip_active) return torch::nn::Linear(in, out);
  // A 1x1 layer costs nothing to initialise; its parameters then take the real
  // shapes, allocated on the target device with undefined values.
  torch::nn::Linear layer(torch::nn::LinearOptions(1, 1));
  layer->options.in_features(in).out_features(out);
  torch::NoGradGuard no_grad;
  const auto options = at::TensorOptions().device(skip_device).dtype(at::kFloat);
  layer->weight.set_data(at::empty({out, in}, options));
  layer->bias.set_data(at::empty({out}, options));
  return layer;
}

}  // namespace wan::dit
