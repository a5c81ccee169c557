#include "models/vae/residual_block.h"

#include "models/cuda/vae_ops.h"

namespace wan::vae {

ResidualBlockImpl::ResidualBlockImpl(int64_t in_channels, int64_t out_channels) {
  // The checkpoint's names are those of an nn.Sequential whose SiLU and
  // Dropout entries (1, 4, 5) hold no parameters.
  auto residual = register_module("residual", std::make_shared<torch::nn::Module>("Sequential"));
  norm1_ = residual->register_module("0", RMSNorm(in_channels, /*images=*/false));
  conv1_ = residual->register_module("2", size_preserving_conv3d(in_channels, out_channels));
  norm2_ = residual->register_module("3", RMSNorm(out_channels, /*images=*/false));
  conv2_ = residual->register_module("6", size_preserving_conv3d(out_channels, out_channels));
  if (in_channels != out_channels) shortcut_ = register_module("shortcut", pointwise_conv3d(in_channels, out_channels));
}

at::Tensor ResidualBlockImpl::forward(at::Tensor x, ResidualBlockCache& cache) const {
  // Temporaries are handed on (moved) or overwritten, so each is freed as
  // soon as it has been used; the activations run in place.
  // A convolution's terms (CausalConvTerms) are added by the next pass over
  // its output: the second norm, or the sum with the skip path.
  at::Tensor h = norm1_->forward_silu(x);
  const at::Tensor skip = shortcut_ ? shortcut_->forward(x) : x;
  x.reset();
  CausalConvTerms conv = conv1_->forward_terms(std::move(h), cache.conv1);
  h = norm2_->forward_silu(conv);
  conv = conv2_->forward_terms(std::move(h), cache.conv2);  // dropout: identity at inference
  if (cuda::residual_sum_applies(conv.current, conv.past, conv.bias, skip))
    return cuda::residual_sum_(conv.current, conv.past, conv.bias, skip);
  return conv.sum().add_(skip);
}

}  // namespace wan::vae
