#include "models/vae/causal_conv3d.h"

#include <algorithm>

#include "models/common/error.h"

namespace wan::vae {

namespace {

at::Tensor frames_in_time_order(const CausalConvCache& cache) {
  return cache.frames.size(2) == 2 && cache.oldest == 1 ? cache.frames.flip({2}) : cache.frames;
}

}  // namespace

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
  return convolve_taps(padded, weight, bias);
}

at::Tensor CausalConv3dImpl::convolve_taps(const at::Tensor& x, const at::Tensor& taps, const at::Tensor& bias) const {
  return at::conv3d(x, taps, bias, {stride_[0], stride_[1], stride_[2]}, {0, padding_[1], padding_[2]});
}

bool CausalConv3dImpl::takes_frames_alone() const {
  return weight.size(2) == kCachedFrames + 1 && stride_[0] == 1 && 2 * padding_[0] == kCachedFrames;
}

at::Tensor CausalConv3dImpl::forward(const at::Tensor& x) const { return convolve(x, 2 * padding_[0]); }

CausalConvTerms CausalConv3dImpl::forward_terms(at::Tensor x, CausalConvCache& cache) const {
  if (padding_[0] == 0) return {forward(x), {}, {}};  // no past frames in reach
  if (x.is_cuda() && x.size(2) == 1 && takes_frames_alone()) return forward_frame(x, cache);
  const int64_t cached = cache.frames.defined() ? cache.frames.size(2) : 0;
  const at::Tensor input = cached > 0 ? at::cat({frames_in_time_order(cache), x}, 2) : x;
  x.reset();
  cache.frames.reset();  // its frames are in `input` now: free them before the new cache exists
  const int64_t keep = std::min<int64_t>(kCachedFrames, input.size(2));
  cache.frames = input.narrow(2, input.size(2) - keep, keep).clone();
  cache.oldest = 0;
  return {convolve(input, std::max<int64_t>(0, 2 * padding_[0] - cached)), {}, {}};
}

CausalConvTerms CausalConv3dImpl::forward_frame(const at::Tensor& x, CausalConvCache& cache) const {
  if (!takes_frames_alone() || x.dim() != 5 || x.size(2) != 1)
    throw Error("CausalConv3d::forward_frame: one frame and a kernel of 3 frames at stride 1");
  // y_t = W_2 * x_t + W_1 * x_{t-1} + W_0 * x_{t-2} + b; frames before the first are zeros.
  // Without its bias: cuDNN would add it in a pass of its own over the output.
  CausalConvTerms y{convolve_taps(x, weight.narrow(2, 2, 1), {}), {}, bias};
  const int64_t cached = cache.frames.defined() ? cache.frames.size(2) : 0;
  if (cached == 1) {
    y.past = convolve_taps(cache.frames, weight.narrow(2, 1, 1), {});
  } else if (cached == 2) {
    // The taps in the order the cache holds the frames.
    const at::Tensor taps = weight.narrow(2, 0, 2);
    y.past = convolve_taps(cache.frames, cache.oldest == 0 ? taps : taps.flip({2}), {});
  }
  if (cached < kCachedFrames) {
    cache.frames = cached == 0 ? x.clone() : at::cat({cache.frames, x}, 2);
    cache.oldest = 0;
  } else {
    cache.frames.narrow(2, cache.oldest, 1).copy_(x);
    cache.oldest = 1 - cache.oldest;
  }
  return y;
}

}  // namespace wan::vae
