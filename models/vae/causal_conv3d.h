// A 3-D convolution that is causal in time: frame t sees frames <= t only.
// The Wan VAE runs it on a video cut into time chunks; a CausalConvCache
// carries the last input frames from one chunk to the next, so the chunked
// result equals one causal convolution over the whole sequence.
#pragma once
#include <array>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace wan::vae {

// Input frames of the previous chunks that the next chunk's kernel still reaches.
struct CausalConvCache {
  at::Tensor frames;  // [B, C, <= kCachedFrames, H, W]; undefined before the first chunk
};

class CausalConv3dImpl : public torch::nn::Module {
 public:
  using Triple = std::array<int64_t, 3>;  // (time, height, width)

  // `padding` is the symmetric padding of the equivalent nn.Conv3d: height and
  // width are padded on both sides, time by 2 * padding[0] in front only.
  CausalConv3dImpl(int64_t in_channels, int64_t out_channels, Triple kernel, Triple stride = {1, 1, 1},
                   Triple padding = {0, 0, 0});

  // The whole sequence: zeros stand in for the frames before the first one.
  at::Tensor forward(const at::Tensor& x) const;
  // One chunk of a sequence: the cached frames of the previous chunks stand in
  // for (some of) the zeros; the cache is then advanced past this chunk.
  at::Tensor forward(const at::Tensor& x, CausalConvCache& cache) const;

  at::Tensor weight, bias;

 private:
  at::Tensor convolve(const at::Tensor& x, int64_t front_padding) const;

  Triple stride_, padding_;
};
TORCH_MODULE(CausalConv3d);

// The 3x3x3 convolution that keeps the frame size (padding 1 in the reference).
inline CausalConv3d size_preserving_conv3d(int64_t in_channels, int64_t out_channels) {
  return CausalConv3d(in_channels, out_channels, CausalConv3dImpl::Triple{3, 3, 3}, CausalConv3dImpl::Triple{1, 1, 1},
                      CausalConv3dImpl::Triple{1, 1, 1});
}

// The 1x1x1 convolution: a per-position linear map of the channels.
inline CausalConv3d pointwise_conv3d(int64_t in_channels, int64_t out_channels) {
  return CausalConv3d(in_channels, out_channels, CausalConv3dImpl::Triple{1, 1, 1});
}

// How many past input frames a cache keeps (enough for a kernel of 3 frames).
constexpr int64_t kCachedFrames = 2;

}  // namespace wan::vae
