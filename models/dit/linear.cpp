#include "models/dit/linear.h"

#include <torch/csrc/autograd/grad_mode.h>
#include <torch/version.h>

#include <cmath>
#include <tuple>

#include "models/common/error.h"
#include "models/common/parameter_init.h"
#include "models/cuda/fused_ops.h"

namespace wan::dit {

at::Tensor Projection::with_bias() const { return bias.defined() ? y + bias.to(y.scalar_type()) : y; }

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias) : in_features(in), out_features(out) {
  // libtorch's nn::Linear initialisation: uniform within 1 / sqrt(in) (undefined values when
  // the weights are loaded next, see parameter_init.h).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  weight = register_parameter("weight", make_uniform_parameter({out, in}, bound));
  if (with_bias) bias = register_parameter("bias", make_uniform_parameter({out}, bound));
}

bool LinearImpl::fused_kernels_apply() const {
  // bf16 on CUDA with our kernels built: where the fused elementwise kernels take over.
  return weight.is_cuda() && activation_dtype() == at::kBFloat16 && cuda::fused_ops_available();
}

at::ScalarType LinearImpl::activation_dtype() const { return is_fp8() ? at::kBFloat16 : weight.scalar_type(); }

void LinearImpl::quantize_fp8(const at::Device& compute) {
  if (is_fp8()) return;
  check_fp8_shape();
  torch::NoGradGuard no_grad;
  const auto [values, scales] = cuda::quantize_weight_e4m3(weight, compute);
  set_fp8_weight(values, scales);
}

void LinearImpl::check_fp8_shape() const {
  // cuBLASLt's fp8 GEMMs take only widths that are multiples of 16.
  if (in_features % 16 != 0 || out_features % 16 != 0)
    throw Error("fp8: a linear layer of " + std::to_string(in_features) + " -> " + std::to_string(out_features) +
                " features; the fp8 mode needs multiples of 16");
}

void LinearImpl::set_fp8_weight(const at::Tensor& values, const at::Tensor& scales) {
  torch::NoGradGuard no_grad;
  // The bias is added by the GEMM or the kernel after it, in bf16.
  if (bias.defined() && bias.scalar_type() != at::kBFloat16) bias.set_data(bias.to(at::kBFloat16));
  weight.set_data(values);
  if (is_fp8())
    weight_scale.set_data(scales);
  else
    weight_scale = register_buffer("weight_scale", scales);
}

bool LinearImpl::adapted() const {
  for (const auto& a : adapters)
    if (a.scale != 0) return true;
  return false;
}

at::Tensor LinearImpl::add_adapters(const at::Tensor& x, at::Tensor y) const {
  add_adapters_sharing_input(x, {{this, y}});
  return y;
}

void add_adapters_sharing_input(const at::Tensor& x, const std::vector<AdaptedOutput>& outputs) {
  std::vector<at::Tensor> downs;
  for (const auto& out : outputs)
    for (const auto& a : out.layer->adapters)
      if (a.scale != 0) downs.push_back(a.down);
  if (downs.empty()) return;
  // One GEMM for every down projection of this input: x is read once, not once per layer.
  const at::Tensor xa = x.to(downs.front().scalar_type()).reshape({-1, x.size(-1)});
  const at::Tensor h = at::matmul(xa, (downs.size() == 1 ? downs.front() : at::cat(downs)).t());
  int64_t column = 0;
  for (const auto& out : outputs) {
    // The up projection accumulates into the layer's output inside the GEMM (beta 1, the
    // scale as alpha, summed in float32): no product tensor and no extra passes over y.
    at::Tensor y = out.y.view({-1, out.y.size(-1)});
    for (const auto& a : out.layer->adapters) {
      if (a.scale == 0) continue;
      const int64_t rank = a.down.size(0);
      const at::Tensor h_a = h.narrow(1, column, rank);
      column += rank;
      if (y.scalar_type() == a.up.scalar_type())
        y.addmm_(h_a, a.up.t(), /*beta=*/1, /*alpha=*/a.scale);
      else
        y.add_(at::matmul(h_a, a.up.t()).mul_(a.scale).to(y.scalar_type()));
    }
  }
}

at::Tensor linear_with_adapters(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                const std::vector<const LinearImpl*>& layers) {
  std::vector<at::Tensor> downs;
  for (const auto* layer : layers)
    for (const auto& a : layer->adapters)
      if (a.scale != 0) downs.push_back(a.down);
  if (downs.empty()) return bias.defined() ? at::linear(x, weight, bias) : at::matmul(x, weight.t());
  // The adapters' terms and the bias are written first, then the layer's GEMM accumulates onto
  // them (beta 1). That GEMM is compute-bound and reads them in its epilogue at little cost;
  // added after it, they would cost another read and write of its whole output.
  torch::NoGradGuard no_grad;  // out= products take no autograd; adapters are for inference
  const at::Tensor x2 = x.reshape({-1, x.size(-1)});
  const at::Tensor h = at::matmul(x2, (downs.size() == 1 ? downs.front() : at::cat(downs)).t().to(x2.scalar_type()));
  const int64_t rows = x2.size(0);
  const auto f32 = x2.options().dtype(at::kFloat);
  const at::Tensor ones = at::ones({rows, 1}, x2.options());
  at::Tensor y = at::empty({rows, weight.size(0)}, x2.options());
  int64_t row = 0, column = 0;
  for (const auto* layer : layers) {
    // One small GEMM per layer writes bias + sum of scale * (x down^T) up^T:
    // [x down^T ... | 1 | 0 ...] [scale up ... | bias | 0 ...]^T, the inner width a multiple of 8
    // (aligned for the tensor cores), the scaled factors rounded once to x's dtype.
    const int64_t out = layer->out_features;
    std::vector<at::Tensor> lhs, rhs;
    int64_t inner = 0;
    for (const auto& a : layer->adapters) {
      if (a.scale == 0) continue;
      const int64_t rank = a.down.size(0);
      lhs.push_back(h.narrow(1, column, rank));
      rhs.push_back(a.up.to(at::kFloat).mul(a.scale));
      column += rank;
      inner += rank;
    }
    lhs.push_back(ones);
    rhs.push_back(bias.defined() ? bias.narrow(0, row, out).to(at::kFloat).view({out, 1}) : at::zeros({out, 1}, f32));
    if (const int64_t zeros = 7 - inner % 8; zeros > 0) {
      lhs.push_back(at::zeros({rows, zeros}, x2.options()));
      rhs.push_back(at::zeros({out, zeros}, f32));
    }
    at::Tensor terms = y.narrow(1, row, out);
    at::mm_out(terms, at::cat(lhs, 1), at::cat(rhs, 1).to(x2.scalar_type()).t());
    row += out;
  }
  y.addmm_(x2, weight.t());
  std::vector<int64_t> sizes = x.sizes().vec();
  sizes.back() = y.size(1);
  return y.view(sizes);
}

at::Tensor LinearImpl::forward(const at::Tensor& x) {
  const at::Tensor xw = x.to(activation_dtype());
  if (is_fp8()) return add_adapters(xw, cuda::fp8_linear(cuda::quantize_rows_e4m3(xw), weight, weight_scale, bias));
  return linear_with_adapters(xw, weight, bias, {this});
}

Projection LinearImpl::project(const at::Tensor& x) {
  if (!fused_kernels_apply()) return {forward(x), at::Tensor()};
  const at::Tensor xw = x.to(activation_dtype());
  if (is_fp8()) return {add_adapters(xw, cuda::fp8_linear(cuda::quantize_rows_e4m3(xw), weight, weight_scale)), bias};
  return {linear_with_adapters(xw, weight, at::Tensor(), {this}), bias};
}

Projection LinearImpl::project(const cuda::Fp8Rows& x) {
  if (!is_fp8()) throw Error("Linear: an fp8 input reaches a layer whose weights are not fp8");
  at::Tensor y = cuda::fp8_linear(x, weight, weight_scale);
  // Run-time LoRA factors read the bf16 activation: only adapted layers rebuild it.
  if (adapted()) y = add_adapters(cuda::dequantize_rows(x), y);
  return {y, bias};
}

at::Tensor LinearImpl::forward_gelu(const at::Tensor& x) {
#if TORCH_VERSION_MAJOR >= 2
  if (fused_kernels_apply() && bias.defined() && !is_fp8()) {
    // cuBLASLt's GELU epilogue is the tanh form.
    at::Tensor x2 = x.to(weight.scalar_type()).reshape({-1, in_features});
    at::Tensor w = weight;
    // Adapters join the GEMM as extra inner columns, [x | x down^T] [W | scale up]^T: the
    // epilogue still adds the bias and applies GELU, and the wide output is written once
    // (added after it, their term would cost a read and a write of it, and GELU another).
    if (adapted()) std::tie(x2, w) = with_adapter_columns(x2);
    std::vector<int64_t> sizes = x.sizes().vec();
    sizes.back() = out_features;
    return at::_addmm_activation(bias, x2, w.t(), 1, 1, /*use_gelu=*/true).view(sizes);
  }
#endif
  return at::gelu(forward(x), "tanh");
}

std::pair<at::Tensor, at::Tensor> LinearImpl::with_adapter_columns(const at::Tensor& x) const {
  std::vector<at::Tensor> downs, ups{weight};
  for (const auto& a : adapters) {
    if (a.scale == 0) continue;
    downs.push_back(a.down);
    ups.push_back(a.up.to(at::kFloat).mul(a.scale).to(weight.scalar_type()));  // rounded once
  }
  const at::Tensor h = at::matmul(x, (downs.size() == 1 ? downs.front() : at::cat(downs)).t().to(x.scalar_type()));
  return {at::cat({x, h}, 1), at::cat(ups, 1)};
}

}  // namespace wan::dit
