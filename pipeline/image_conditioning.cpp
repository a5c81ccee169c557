#include "pipeline/image_conditioning.h"

#include <algorithm>
#include <cmath>

#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/upsample_bicubic2d.h>

#include "models/common/error.h"

namespace wan {

at::Tensor image_to_tensor(const RgbImage& image) {
  const at::Tensor hwc =
      at::from_blob(const_cast<uint8_t*>(image.pixels.data()), {image.height, image.width, 3}, at::kByte);
  // to_tensor divides by 255, then the pipelines map [0, 1] to [-1, 1].
  const at::Tensor unit = hwc.permute({2, 0, 1}).contiguous().to(at::kFloat).div(255);
  return unit.sub(0.5).div(0.5);
}

at::Tensor resize_bicubic(const at::Tensor& image, int64_t height, int64_t width) {
  return at::upsample_bicubic2d(image.to(at::kCPU).unsqueeze(0), {height, width}, /*align_corners=*/false)[0];
}

namespace {

// torchvision's center_crop on a [C, H, W] tensor: zero padding where the
// crop is larger than the image, then the centred window.
at::Tensor center_crop(const at::Tensor& image, int64_t crop_h, int64_t crop_w) {
  at::Tensor img = image;
  int64_t h = img.size(1), w = img.size(2);
  if (crop_w > w || crop_h > h) {
    const int64_t left = crop_w > w ? (crop_w - w) / 2 : 0, right = crop_w > w ? (crop_w - w + 1) / 2 : 0;
    const int64_t top = crop_h > h ? (crop_h - h) / 2 : 0, bottom = crop_h > h ? (crop_h - h + 1) / 2 : 0;
    img = at::constant_pad_nd(img, {left, right, top, bottom}, 0);
    h = img.size(1), w = img.size(2);
    if (crop_w == w && crop_h == h) return img;
  }
  const int64_t top = static_cast<int64_t>(std::nearbyint((h - crop_h) / 2.0));
  const int64_t left = static_cast<int64_t>(std::nearbyint((w - crop_w) / 2.0));
  return img.slice(1, top, top + crop_h).slice(2, left, left + crop_w);
}

}  // namespace

at::Tensor fit_last_frame(const at::Tensor& last, const RgbImage& first_image, const RgbImage& last_image) {
  if (first_image.width == last_image.width && first_image.height == last_image.height) return last;
  const double ratio = std::max(static_cast<double>(first_image.width) / last_image.width,
                                static_cast<double>(first_image.height) / last_image.height);
  // Python's round(): half to even, which nearbyint does in the default rounding mode.
  const int64_t scaled_w = static_cast<int64_t>(std::nearbyint(last_image.width * ratio));
  const int64_t scaled_h = static_cast<int64_t>(std::nearbyint(last_image.height * ratio));
  return center_crop(last, /*crop_h=*/scaled_w, /*crop_w=*/scaled_h);
}

at::Tensor frame_mask(const VideoGeometry& g, bool last_frame_given, const at::Device& device) {
  const int64_t f = g.num_frames;
  at::Tensor msk = at::zeros({1, f, g.lat_h, g.lat_w}, at::TensorOptions().dtype(at::kFloat).device(device));
  msk.select(1, 0).fill_(1);
  if (last_frame_given) msk.select(1, f - 1).fill_(1);
  msk = at::cat({msk.slice(1, 0, 1).repeat_interleave(4, 1), msk.slice(1, 1)}, 1);
  return msk.view({1, msk.size(1) / 4, 4, g.lat_h, g.lat_w}).transpose(1, 2)[0];
}

at::Tensor conditioning_video(const at::Tensor& first_resized, const std::optional<at::Tensor>& last_resized,
                              const VideoGeometry& g) {
  const int64_t zeros = g.num_frames - 1 - (last_resized ? 1 : 0);
  if (zeros < 0) throw Error("first-last-frame generation needs at least 2 frames");
  std::vector<at::Tensor> parts = {first_resized.unsqueeze(1),
                                   at::zeros({3, zeros, g.height, g.width}, first_resized.options())};
  if (last_resized) parts.push_back(last_resized->unsqueeze(1));
  return at::cat(parts, 1);
}

at::Tensor image_condition(const WanVAE& vae, const at::Tensor& first, const std::optional<at::Tensor>& last,
                           const VideoGeometry& g, const std::function<void()>& before_frame) {
  const at::Tensor first_resized = resize_bicubic(first, g.height, g.width);
  std::optional<at::Tensor> last_resized;
  if (last) last_resized = resize_bicubic(*last, g.height, g.width);
  const at::Tensor latent = vae.encode(conditioning_video(first_resized, last_resized, g), before_frame);
  return at::cat({frame_mask(g, last.has_value(), latent.device()), latent});
}

}  // namespace wan
