// What i2v and flf2v condition the DiT on besides the text: the input frames
// as tensors, the VAE latent of a video that holds them at its ends (zeros in
// between) and a mask saying which frames are given.
#pragma once
#include <functional>
#include <optional>

#include <ATen/ATen.h>

#include "models/vae/wan_vae.h"
#include "pipeline/request.h"
#include "pipeline/video_geometry.h"

namespace wan {

// to_tensor(image) * 2 - 1: float32 [3, H, W] in [-1, 1] on the CPU.
at::Tensor image_to_tensor(const RgbImage& image);

// Bicubic resize (align_corners false, no antialias, no clamp) of [3, H, W]
// to [3, height, width], on the CPU as the reference does it.
at::Tensor resize_bicubic(const at::Tensor& image, int64_t height, int64_t width);

// flf2v: a last frame of another size than the first is center-cropped (or
// zero-padded) the way the reference does it. The reference computes the
// scaled size of the last frame as (width, height) but hands it to a crop that
// takes (height, width), and never resizes; this reproduces that, so the same
// inputs condition the model the same way.
at::Tensor fit_last_frame(const at::Tensor& last, const RgbImage& first_image, const RgbImage& last_image);

// [4, latent_frames, lat_h, lat_w]: 1 where the frame is given (frame 0; for
// flf2v also the last frame), the first frame's entry repeated 4 times so the
// pixel frames group by 4 into latent frames.
at::Tensor frame_mask(const VideoGeometry& geometry, bool last_frame_given, const at::Device& device);

// The video the VAE encodes: [3, num_frames, height, width] with the resized
// first frame, zeros, and (flf2v) the resized last frame.
at::Tensor conditioning_video(const at::Tensor& first_resized, const std::optional<at::Tensor>& last_resized,
                              const VideoGeometry& geometry);

// y = cat(frame_mask, vae.encode(conditioning_video)): [4 + z_dim, F, lat_h, lat_w].
// `before_frame` runs before each frame is encoded (a cancellation check that throws).
at::Tensor image_condition(const WanVAE& vae, const at::Tensor& first, const std::optional<at::Tensor>& last,
                           const VideoGeometry& geometry, const std::function<void()>& before_frame = {});

}  // namespace wan
