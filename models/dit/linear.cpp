#include "models/dit/linear.h"

#include <torch/version.h>

#include <cmath>

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
  return weight.is_cuda() && weight.scalar_type() == at::kBFloat16 && cuda::fused_ops_available();
}

bool LinearImpl::adapted() const {
  for (const auto& a : adapters)
    if (a.scale != 0) return true;
  return false;
}

at::Tensor LinearImpl::add_adapters(const at::Tensor& x, at::Tensor y) const {
  for (const auto& a : adapters)
    if (a.scale != 0) {
      const at::Tensor xa = x.to(a.down.scalar_type());
      y = y + at::matmul(at::matmul(xa, a.down.t()), a.up.t()).mul_(a.scale).to(y.scalar_type());
    }
  return y;
}

at::Tensor LinearImpl::forward(const at::Tensor& x) {
  const at::Tensor xw = x.to(weight.scalar_type());
  return add_adapters(xw, at::linear(xw, weight, bias));
}

Projection LinearImpl::project(const at::Tensor& x) {
  if (!fused_kernels_apply()) return {forward(x), at::Tensor()};
  const at::Tensor xw = x.to(weight.scalar_type());
  return {add_adapters(xw, at::matmul(xw, weight.t())), bias};
}

at::Tensor LinearImpl::forward_gelu(const at::Tensor& x) {
#if TORCH_VERSION_MAJOR >= 2
  if (fused_kernels_apply() && bias.defined() && !adapted()) {
    // cuBLASLt's GELU epilogue is the tanh form.
    const at::Tensor x2 = x.to(weight.scalar_type()).reshape({-1, in_features});
    std::vector<int64_t> sizes = x.sizes().vec();
    sizes.back() = out_features;
    return at::_addmm_activation(bias, x2, weight.t(), 1, 1, /*use_gelu=*/true).view(sizes);
  }
#endif
  return at::gelu(forward(x), "tanh");
}

}  // namespace wan::dit
