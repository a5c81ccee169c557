#include "models/vae/attention_block.h"

#include <cmath>

#include <torch/version.h>

#include "models/vae/frames.h"

namespace wan::vae {

AttentionBlockImpl::AttentionBlockImpl(int64_t channels) {
  norm_ = register_module("norm", RMSNorm(channels, /*images=*/true));
  to_qkv_ = register_module("to_qkv", Conv2d(channels, 3 * channels, 1));
  proj_ = register_module("proj", Conv2d(channels, channels, 1));
}

at::Tensor AttentionBlockImpl::forward(const at::Tensor& x) const {
  const int64_t batch = x.size(0), c = x.size(1), h = x.size(3), w = x.size(4);
  const at::Tensor frames = norm_->forward(video_to_frames(x));
  const int64_t n = frames.size(0);
  // [n, 3C, H, W] -> q, k, v [n, 1, H*W, C]
  const auto qkv =
      to_qkv_->forward(frames).reshape({n, 1, 3 * c, h * w}).permute({0, 1, 3, 2}).contiguous().chunk(3, -1);
#if TORCH_VERSION_MAJOR >= 2
  at::Tensor out = at::scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);
#else
  const at::Tensor scores = at::matmul(qkv[0], qkv[1].transpose(-2, -1)) / std::sqrt(static_cast<double>(c));
  at::Tensor out = at::matmul(scores.softmax(-1), qkv[2]);
#endif
  out = out.squeeze(1).permute({0, 2, 1}).reshape({n, c, h, w});
  return frames_to_video(proj_->forward(out), batch) + x;
}

}  // namespace wan::vae
