#include "models/vae/resample.h"

#include "models/vae/frames.h"

namespace wan::vae {

ResampleImpl::ResampleImpl(int64_t channels, ResampleMode mode) : mode_(mode) {
  // resample.0 is the parameterless Upsample / ZeroPad2d of the reference's Sequential.
  auto resample = register_module("resample", std::make_shared<torch::nn::Module>("Sequential"));
  using Triple = CausalConv3dImpl::Triple;
  switch (mode) {
    case ResampleMode::Upsample3d:
      time_conv_ = register_module(
          "time_conv", CausalConv3d(channels, 2 * channels, Triple{3, 1, 1}, Triple{1, 1, 1}, Triple{1, 0, 0}));
      [[fallthrough]];
    case ResampleMode::Upsample2d:
      conv_ = resample->register_module("1", Conv2d(channels, channels / 2, 3, /*stride=*/1, /*padding=*/1));
      break;
    case ResampleMode::Downsample3d:
      time_conv_ = register_module("time_conv", CausalConv3d(channels, channels, Triple{3, 1, 1}, Triple{2, 1, 1}));
      [[fallthrough]];
    case ResampleMode::Downsample2d:
      conv_ = resample->register_module("1", Conv2d(channels, channels, 3, /*stride=*/2));
      break;
  }
}

at::Tensor ResampleImpl::forward(const at::Tensor& x, ResampleCache& cache) const {
  if (mode_ == ResampleMode::Downsample3d) return downsample_time(resample_space(x), cache);
  return resample_space(upsample_time(x, cache));
}

at::Tensor ResampleImpl::upsample_time(const at::Tensor& x, ResampleCache& cache) const {
  if (mode_ != ResampleMode::Upsample3d) return x;
  if (!cache.seen_first_chunk) {
    cache.seen_first_chunk = true;
    return x;
  }
  const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  const at::Tensor doubled = time_conv_->forward(x, cache.time_conv);
  // [B, 2C, T] -> [B, C, T, 2] -> [B, C, 2T]: channels [0, C) give the earlier
  // frame. Written into a tensor of the input's memory layout (channels-last
  // on CUDA), so the next convolution needs no conversion.
  at::Tensor y = at::empty({b, c, 2 * t, h, w}, doubled.options().memory_format(doubled.suggest_memory_format()));
  y.view({b, c, t, 2, h, w}).copy_(doubled.view({b, 2, c, t, h, w}).permute({0, 2, 3, 1, 4, 5}));
  return y;
}

at::Tensor ResampleImpl::resample_space(const at::Tensor& x) const {
  at::Tensor frames = video_to_frames(x);
  if (mode_ == ResampleMode::Upsample2d || mode_ == ResampleMode::Upsample3d) {
    // nearest-exact and nearest pick the same source pixel at an exact factor of 2.
    frames = at::upsample_nearest2d(frames, {2 * frames.size(2), 2 * frames.size(3)});
  } else {
    frames = at::constant_pad_nd(frames, {0, 1, 0, 1});
  }
  return frames_to_video(conv_->forward(frames), x.size(0));
}

at::Tensor ResampleImpl::downsample_time(const at::Tensor& x, ResampleCache& cache) const {
  const at::Tensor last = x.narrow(2, x.size(2) - 1, 1).clone();
  at::Tensor y = x;
  if (cache.seen_first_chunk) y = time_conv_->forward(at::cat({cache.last_frame, x}, 2));
  cache.last_frame = last;
  cache.seen_first_chunk = true;
  return y;
}

}  // namespace wan::vae
