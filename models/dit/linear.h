// A linear layer of the DiT's blocks, its parameters registered under the checkpoint's
// names (weight [out, in], bias [out]). The input is cast to the weight's dtype, so a bf16
// model keeps the reference's float32 islands wherever the weights are float32.
//
// project() may leave the bias pending: where a fused CUDA kernel reads the output next,
// that kernel adds the bias in its own pass (left to the GEMM, libtorch adds it in a
// separate broadcast pass over the whole output, which costs more than the GEMM's tail).
// Run-time LoRAs live here too (y += scale * up(down x), the weight untouched), so their
// strengths can change between generations. In the fp8 fast mode the weight is e4m3 with one
// float32 scale per output channel (weight_scale) and the GEMM reads its input quantised per
// token (cuda/fp8_ops.h); the activations around it stay bf16.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "models/cuda/fp8_ops.h"

namespace wan::dit {

// A linear layer's output whose bias may not have been added yet.
struct Projection {
  at::Tensor y;     // x W^T, plus the bias unless it is pending
  at::Tensor bias;  // the pending bias [out], or undefined
  // y with the bias added (in y's dtype, as the GEMM would).
  at::Tensor with_bias() const;
};

// A low-rank adapter applied at run time: y += scale * (x down^T) up^T.
struct LowRankAdapter {
  at::Tensor down;   // [rank, in], in the weight's dtype, on the generation device
  at::Tensor up;     // [out, rank]
  double scale = 0;  // strength * alpha / rank; 0 = off
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
  // An fp8 layer's projection of an input already quantised (its bias pending).
  Projection project(const cuda::Fp8Rows& x);

  // fp8: the weight becomes e4m3 with per-output-channel scales, computed on `compute` (the
  // result stays where the weight is). `values` / `scales` instead: an e4m3 weight and its
  // float32 [out] scales quantised elsewhere (q, k and v quantised as one matrix).
  void quantize_fp8(const at::Device& compute);
  void set_fp8_weight(const at::Tensor& values, const at::Tensor& scales);
  // Throws unless the layer's widths suit fp8 GEMMs.
  void check_fp8_shape() const;
  bool is_fp8() const { return weight_scale.defined(); }
  // The dtype activations enter and leave this layer in: the weight's, bf16 for fp8 weights.
  at::ScalarType activation_dtype() const;

  // True while an adapter with a non-zero scale is attached.
  bool adapted() const;
  // True where the fused bf16 CUDA kernels take over the elementwise work around this layer.
  bool fused_kernels_apply() const;
  // y plus every attached adapter's term for input x, added into y in place.
  at::Tensor add_adapters(const at::Tensor& x, at::Tensor y) const;
  // x [rows, in] and the weight widened by the attached adapters: [x | x down^T] and
  // [W | scale up], whose product is x W^T plus every adapter's term.
  std::pair<at::Tensor, at::Tensor> with_adapter_columns(const at::Tensor& x) const;

  int64_t in_features, out_features;
  at::Tensor weight, bias;
  at::Tensor weight_scale;               // fp8 only: float32 [out], a buffer (block swap moves it)
  std::vector<LowRankAdapter> adapters;  // not parameters: never saved, loaded or swapped
};
TORCH_MODULE(Linear);

// A layer's output to which its adapters' terms are added in place.
struct AdaptedOutput {
  const LinearImpl* layer;
  at::Tensor y;  // [..., out_features], a view of the layer's output (written through)
};

// Adds the attached adapters of several layers that read the same input `x` (q, k and v) to
// their outputs in place, with one GEMM for all their down projections (the fp8 layers' way:
// their GEMM takes no matrix to accumulate onto).
void add_adapters_sharing_input(const at::Tensor& x, const std::vector<AdaptedOutput>& outputs);

// x [..., in] through the stacked weights of layers that read it (one layer, or q, k and v):
// x weight^T + bias plus every attached adapter's term, [..., sum of out_features]. `bias` is
// [sum of out_features], or undefined for none (left pending). Without adapters, at::linear.
at::Tensor linear_with_adapters(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                const std::vector<const LinearImpl*>& layers);

}  // namespace wan::dit
