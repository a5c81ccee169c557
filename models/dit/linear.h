// A linear layer of the DiT's blocks, its parameters registered under the checkpoint's
// names (weight [out, in], bias [out]). The input is cast to the weight's dtype, so a bf16
// model keeps the reference's float32 islands wherever the weights are float32.
//
// project() may leave the bias pending: where a fused CUDA kernel reads the output next,
// that kernel adds the bias in its own pass (left to the GEMM, libtorch adds it in a
// separate broadcast pass over the whole output, which costs more than the GEMM's tail).
// fp8 weights and run-time adapters belong here, behind the same three calls.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace wan::dit {

// A linear layer's output whose bias may not have been added yet.
struct Projection {
  at::Tensor y;     // x W^T, plus the bias unless it is pending
  at::Tensor bias;  // the pending bias [out], or undefined
  // y with the bias added (in y's dtype, as the GEMM would).
  at::Tensor with_bias() const;
};

struct LinearImpl : torch::nn::Module {
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true);

  // x W^T + b.
  at::Tensor forward(const at::Tensor& x);
  // The same, the bias left pending where the fused CUDA kernels will read the output
  // (bf16 on CUDA in a build with our kernels); added otherwise.
  Projection project(const at::Tensor& x);
  // gelu_tanh(x W^T + b); on CUDA in bf16 the GEMM's epilogue adds the bias and applies GELU.
  at::Tensor forward_gelu(const at::Tensor& x);

  int64_t in_features, out_features;
  at::Tensor weight, bias;
};
TORCH_MODULE(Linear);

}  // namespace wan::dit
