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
  // With two frames, the slot of the earlier one: frame by frame, each new frame
  // overwrites the earlier one in place rather than the cache being rebuilt.
  int64_t oldest = 0;
};

// A convolution's output as terms still to be added: frame by frame (see
// forward_frame) the frame's own tap, the cached frames' taps and the bias, so
// that the layer reading the output next adds them in its own pass.
struct CausalConvTerms {
  at::Tensor current;
  at::Tensor past;  // undefined when there is none
  at::Tensor bias;  // [C]; undefined when already in `current`
  // The output (in current's memory).
  at::Tensor sum() const {
    if (past.defined()) current.add_(past);
    if (bias.defined()) current.add_(bias.view({-1, 1, 1, 1}));
    return current;
  }
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
  // `x` is taken by value: a moved-in chunk is freed once it is in the cache.
  at::Tensor forward(at::Tensor x, CausalConvCache& cache) const { return forward_terms(std::move(x), cache).sum(); }
  // The same, its output as terms: on CUDA a single frame goes through forward_frame.
  CausalConvTerms forward_terms(at::Tensor x, CausalConvCache& cache) const;
  // One frame [B, C, 1, H, W] of a sequence, for kernels of 3 frames at time
  // stride 1: the frame's tap and the cached frames' taps run as two
  // convolutions whose sum is the output, so the frames are never
  // concatenated and the cache advances by one in-place frame copy. The same
  // result as forward() up to rounding (on CUDA the decode's full-resolution
  // layers run one frame at a time, and the concatenation and cache copies
  // cost about half as much as the convolution itself).
  CausalConvTerms forward_frame(const at::Tensor& x, CausalConvCache& cache) const;

  at::Tensor weight, bias;

 private:
  at::Tensor convolve(const at::Tensor& x, int64_t front_padding) const;
  // The same convolution, no time padding, with the given kernel taps and bias.
  at::Tensor convolve_taps(const at::Tensor& x, const at::Tensor& taps, const at::Tensor& bias) const;
  bool takes_frames_alone() const;

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
