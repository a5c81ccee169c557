#include "models/vae/causal_conv3d.h"

#include <algorithm>

namespace wan::vae {

CausalConv3dImpl::CausalConv3dImpl(int64_t in_channels, int64_t out_channels, Triple kernel, Triple stride,
                                   Triple padding)
    : stride_(stride), padding_(padding) {
  weight = register_parameter("weight", at::empty({out_channels, in_channels, kernel[0], kernel[1], kernel[2]}));
  bias = register_parameter("bias", at::empty({out_channels}));
}

at::Tensor CausalConv3dImpl::convolve(const at::Tensor& x, int64_t front_padding) const {
  // Only the causal time padding is explicit; the convolution pads height and
  // width itself, saving a padded copy of every input.
  const at::Tensor padded = front_padding > 0 ? at::constant_pad_nd(x, {0, 0, 0, 0, front_padding, 0}) : x;
  return at::conv3d(padded, weight, bias, {stride_[0], stride_[1], stride_[2]}, {0, padding_[1], padding_[2]});
}

at::Tensor CausalConv3dImpl::forward(const at::Tensor& x) const { return convolve(x, 2 * padding_[0]); }

at::Tensor CausalConv3dImpl::forward(at::Tensor x, CausalConvCache& cache) const {
  if (padding_[0] == 0) return forward(x);  // no past frames in reach
  const int64_t cached = cache.frames.defined() ? cache.frames.size(2) : 0;
  const at::Tensor input = cached > 0 ? at::cat({cache.frames, x}, 2) : x;
  x.reset();
  cache.frames.reset();  // its frames are in `input` now: free them before the new cache exists
  const int64_t keep = std::min<int64_t>(kCachedFrames, input.size(2));
  cache.frames = input.narrow(2, input.size(2) - keep, keep).clone();
  return convolve(input, std::max<int64_t>(0, 2 * padding_[0] - cached));
}

}  // namespace wan::vae
