#include "models/vae/rms_norm.h"

#include <cmath>

#include "models/cuda/vae_ops.h"

namespace wan::vae {

RMSNormImpl::RMSNormImpl(int64_t channels, bool images) : scale_(std::sqrt(static_cast<double>(channels))) {
  gamma = register_parameter("gamma", images ? at::ones({channels, 1, 1}) : at::ones({channels, 1, 1, 1}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) const {
  if (cuda::channel_rms_norm_applies(x)) return cuda::channel_rms_norm(x, gamma, /*silu=*/false);
  const at::Tensor norm = x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12).expand_as(x);
  return (x / norm).mul_(scale_).mul_(gamma);  // in place: one full-size temporary
}

at::Tensor RMSNormImpl::forward_silu(const at::Tensor& x) const {
  if (cuda::channel_rms_norm_applies(x)) return cuda::channel_rms_norm(x, gamma, /*silu=*/true);
  at::Tensor y = forward(x);
  return at::silu_(y);
}

at::Tensor RMSNormImpl::forward_silu(const CausalConvTerms& x) const {
  if (cuda::channel_rms_norm_applies(x.current, x.past, x.bias))
    return cuda::channel_rms_norm(x.current, gamma, /*silu=*/true, x.past, x.bias);
  return forward_silu(x.sum());
}

}  // namespace wan::vae
