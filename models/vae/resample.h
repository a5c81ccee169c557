// The VAE's resampling layers. Spatially: down = pad one zero row/column at the
// bottom/right, then a stride-2 3x3 conv; up = nearest x2, then a 3x3 conv to
// half the channels. The "3d" modes also resample time, chunk by chunk:
//  * downsample3d: the first chunk passes through; every later chunk is
//    prefixed with the last frame of the previous one and goes through a
//    stride-2 time conv (kernel 3, no padding), halving its frames;
//  * upsample3d: the first chunk passes through; later chunks go through a
//    causal time conv (kernel 3) whose 2C output channels become two frames,
//    doubling them. That conv's stream starts at the second chunk.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/vae/causal_conv3d.h"
#include "models/vae/conv2d.h"

namespace wan::vae {

enum class ResampleMode { Upsample2d, Upsample3d, Downsample2d, Downsample3d };

struct ResampleCache {
  bool seen_first_chunk = false;
  CausalConvCache time_conv;  // upsample3d
  at::Tensor last_frame;      // downsample3d: last frame of the previous chunk, after the spatial step
};

class ResampleImpl : public torch::nn::Module {
 public:
  ResampleImpl(int64_t channels, ResampleMode mode);
  at::Tensor forward(const at::Tensor& x, ResampleCache& cache) const;  // [B, C, T, H, W]
  bool resamples_time() const { return mode_ == ResampleMode::Upsample3d || mode_ == ResampleMode::Downsample3d; }

  // The halves of an upsampling, forward = resample_space(upsample_time(x)):
  // the time half needs the whole chunk, the space half works frame by frame.
  at::Tensor upsample_time(const at::Tensor& x, ResampleCache& cache) const;  // x unchanged in 2d mode
  at::Tensor resample_space(const at::Tensor& x) const;

 private:
  at::Tensor downsample_time(const at::Tensor& x, ResampleCache& cache) const;

  ResampleMode mode_;
  Conv2d conv_{nullptr};             // resample.1
  CausalConv3d time_conv_{nullptr};  // 3d modes only
};
TORCH_MODULE(Resample);

}  // namespace wan::vae
