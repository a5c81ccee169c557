#include "models/common/parameter_init.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace wan {
namespace {

thread_local bool skip_active = false;
thread_local c10::Device skip_device = c10::Device(c10::kCPU);
thread_local at::ScalarType skip_dtype = at::kFloat;

at::Tensor uninitialized(c10::IntArrayRef shape) {
  return at::empty(shape, at::TensorOptions().device(skip_device).dtype(skip_dtype));
}

}  // namespace

SkipParameterInit::SkipParameterInit(const c10::Device& device, at::ScalarType dtype)
    : previous_active_(skip_active), previous_device_(skip_device), previous_dtype_(skip_dtype) {
  skip_active = true;
  skip_device = device;
  skip_dtype = dtype;
}

SkipParameterInit::~SkipParameterInit() {
  skip_active = previous_active_;
  skip_device = previous_device_;
  skip_dtype = previous_dtype_;
}

// A 1x1 layer costs nothing to initialise; its parameters then take the real
// shapes, with undefined values.
torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias) {
  if (!skip_active) return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
  torch::nn::Linear layer(torch::nn::LinearOptions(1, 1).bias(bias));
  layer->options.in_features(in).out_features(out);
  torch::NoGradGuard no_grad;
  layer->weight.set_data(uninitialized({out, in}));
  if (bias) layer->bias.set_data(uninitialized({out}));
  return layer;
}

torch::nn::Embedding make_embedding(int64_t count, int64_t dim) {
  if (!skip_active) return torch::nn::Embedding(count, dim);
  torch::nn::Embedding layer(1, 1);
  layer->options.num_embeddings(count).embedding_dim(dim);
  torch::NoGradGuard no_grad;
  layer->weight.set_data(uninitialized({count, dim}));
  return layer;
}

at::Tensor make_parameter(c10::IntArrayRef shape, double value) {
  return skip_active ? uninitialized(shape) : at::full(shape, value);
}

at::Tensor make_uniform_parameter(c10::IntArrayRef shape, double bound) {
  return skip_active ? uninitialized(shape) : at::empty(shape).uniform_(-bound, bound);
}

}  // namespace wan
