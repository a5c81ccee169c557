// A plain 2-D convolution (weight [out, in, k, k], bias [out]) applied per
// frame by the attention and resampling layers; padding is done by callers
// where the reference pads explicitly.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace wan::vae {

class Conv2dImpl : public torch::nn::Module {
 public:
  Conv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t padding = 0)
      : stride_(stride), padding_(padding) {
    weight = register_parameter("weight", at::empty({out_channels, in_channels, kernel, kernel}));
    bias = register_parameter("bias", at::empty({out_channels}));
  }
  at::Tensor forward(const at::Tensor& x) const {
    return at::conv2d(x, weight, bias, {stride_, stride_}, {padding_, padding_});
  }

  at::Tensor weight, bias;

 private:
  int64_t stride_, padding_;
};
TORCH_MODULE(Conv2d);

}  // namespace wan::vae
