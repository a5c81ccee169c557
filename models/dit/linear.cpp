#include "models/dit/linear.h"

#include <torch/version.h>

#include <cmath>

#include "models/common/parameter_init.h"
#include "models/cuda/fused_ops.h"

namespace wan::dit {
namespace {

// bf16 on CUDA with our kernels built: where the fused elementwise kernels take over.
bool fused_kernels_apply(const at::Tensor& weight) {
  return weight.is_cuda() && weight.scalar_type() == at::kBFloat16 && cuda::fused_ops_available();
}

}  // namespace

at::Tensor Projection::with_bias() const { return bias.defined() ? y + bias.to(y.scalar_type()) : y; }

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias) : in_features(in), out_features(out) {
  // libtorch's nn::Linear initialisation: uniform within 1 / sqrt(in) (undefined values when
  // the weights are loaded next, see parameter_init.h).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  weight = register_parameter("weight", make_uniform_parameter({out, in}, bound));
  if (with_bias) bias = register_parameter("bias", make_uniform_parameter({out}, bound));
}

at::Tensor LinearImpl::forward(const at::Tensor& x) { return at::linear(x.to(weight.scalar_type()), weight, bias); }

Projection LinearImpl::project(const at::Tensor& x) {
  if (!fused_kernels_apply(weight)) return {forward(x), at::Tensor()};
  return {at::matmul(x.to(weight.scalar_type()), weight.t()), bias};
}

at::Tensor LinearImpl::forward_gelu(const at::Tensor& x) {
#if TORCH_VERSION_MAJOR >= 2
  if (fused_kernels_apply(weight) && bias.defined()) {
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
