#include "models/vae/rms_norm.h"

#include <cmath>

namespace wan::vae {

RMSNormImpl::RMSNormImpl(int64_t channels, bool images) : scale_(std::sqrt(static_cast<double>(channels))) {
  gamma = register_parameter("gamma", images ? at::ones({channels, 1, 1}) : at::ones({channels, 1, 1, 1}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) const {
  const at::Tensor norm = x.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12).expand_as(x);
  return x / norm * scale_ * gamma;
}

}  // namespace wan::vae
