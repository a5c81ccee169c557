#include "models/dit/dit_head.h"
#include "models/common/parameter_init.h"

#include <cmath>

#include "models/dit/precision.h"

namespace wan::dit {

HeadImpl::HeadImpl(int64_t dim, int64_t out_dim, const std::array<int64_t, 3>& patch_size, double eps) : eps(eps) {
  head = register_module("head", make_linear(dim, out_dim * patch_size[0] * patch_size[1] * patch_size[2]));
  modulation = register_parameter("modulation", at::randn({1, 2, dim}) / std::sqrt(static_cast<double>(dim)));
}

at::Tensor HeadImpl::forward(const at::Tensor& x, const at::Tensor& time_embedding) {
  if (time_embedding.dim() == 3) {  // per frame: each frame's tokens as one sample
    const int64_t frames = time_embedding.size(0) * time_embedding.size(1);
    const at::Tensor out = forward(x.reshape({frames, -1, x.size(-1)}), time_embedding.flatten(0, 1));
    return out.view({x.size(0), x.size(1), out.size(-1)});
  }
  const std::vector<at::Tensor> e = (modulation + time_embedding.unsqueeze(1)).chunk(2, 1);
  return run_linear(head, layer_norm_f32(x, eps) * (1 + e[1]) + e[0]);
}

}  // namespace wan::dit
