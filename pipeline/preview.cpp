#include "pipeline/preview.h"

#include <cmath>

#include "models/common/error.h"
#include "models/taehv/taehv_decoder.h"
#include "pipeline/denoise_loop.h"

namespace wan {

namespace {

// ComfyUI's Wan2.1 latent format, comfy/latent_formats.py class Wan21 (`latent_rgb_factors`,
// `latent_rgb_factors_bias`), at commit 040a3243468ecefd1f2802592d90458f1ce4d65f of
// github.com/comfyanonymous/ComfyUI. One row per latent channel: its R, G, B weights.
constexpr float kFactors[16][3] = {
    {-0.1299f, -0.1692f, 0.2932f},  {0.0671f, 0.0406f, 0.0442f},  {0.3568f, 0.2548f, 0.1747f},
    {0.0372f, 0.2344f, 0.1420f},    {0.0313f, 0.0189f, -0.0328f}, {0.0296f, -0.0956f, -0.0665f},
    {-0.3477f, -0.4059f, -0.2925f}, {0.0166f, 0.1902f, 0.1975f},  {-0.0412f, 0.0267f, -0.1364f},
    {-0.1293f, 0.0740f, 0.1636f},   {0.0680f, 0.3019f, 0.1128f},  {0.0032f, 0.0581f, 0.0639f},
    {-0.1251f, 0.0927f, 0.1699f},   {0.0060f, -0.0633f, 0.0005f}, {0.3477f, 0.2275f, 0.2950f},
    {0.1984f, 0.0913f, 0.1861f},
};
constexpr float kBias[3] = {-0.1835f, -0.0868f, -0.3360f};

}  // namespace

at::Tensor latent_rgb_factors() {
  return at::from_blob(const_cast<float*>(&kFactors[0][0]), {16, 3}, at::TensorOptions(at::kFloat)).clone();
}

at::Tensor latent_rgb_bias() {
  return at::from_blob(const_cast<float*>(kBias), {3}, at::TensorOptions(at::kFloat)).clone();
}

at::Tensor latent_to_rgb(const at::Tensor& latent) {
  if (latent.dim() != 4 || latent.size(0) != 16)
    throw Error("a preview needs a Wan2.1 latent [16, F, h, w]; got " + std::to_string(latent.dim()) +
                " dimensions of " + std::to_string(latent.dim() ? latent.size(0) : 0) + " channels");
  const at::Tensor x = latent.to(at::kFloat);
  // ComfyUI applies the factors to the sampler's x0, which is in the normalised space the
  // DiT works in (its process_out, back to the VAE's space, comes only after sampling).
  const at::Tensor w = latent_rgb_factors().to(x.device());
  const at::Tensor b = latent_rgb_bias().to(x.device());
  return (at::einsum("cfhw,ck->fhwk", {x, w}) + b).clamp(-1.0, 1.0);
}

at::Tensor predicted_x0(const DenoiseStep& step) {
  if (!step.prediction || !step.sample.defined()) throw Error("a denoising step without its prediction");
  return step.sample - step.sigma * step.prediction->guided;
}

PreviewLayout preview_layout(int64_t frames, int64_t latent_height, int64_t latent_width, int scale) {
  if (frames < 1 || latent_height < 1 || latent_width < 1 || scale < 1)
    throw Error("a preview needs at least one latent frame and a positive scale");
  PreviewLayout l;
  l.frames = static_cast<int>(frames);
  l.columns = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(frames))));
  l.rows = static_cast<int>((frames + l.columns - 1) / l.columns);
  l.width = static_cast<int>(l.columns * latent_width * scale);
  l.height = static_cast<int>(l.rows * latent_height * scale);
  return l;
}

struct PreviewDecoder::Model {
  taehv::TaehvDecoder decoder{nullptr};
};

std::shared_ptr<const PreviewDecoder> PreviewDecoder::load(const std::string& path, const at::Device& device) {
  auto loaded = std::make_shared<PreviewDecoder>();
  loaded->model_ = std::make_shared<Model>();
  const at::ScalarType dtype = device.is_cuda() ? at::kBFloat16 : at::kFloat;
  try {
    loaded->model_->decoder = taehv::load_taehv_decoder(path, device, dtype, {/*temporal_upscale=*/false});
  } catch (const Error& e) {
    throw Error("preview model " + path + ": " + e.what());
  }
  return loaded;
}

at::Tensor PreviewDecoder::frames(const at::Tensor& x0) const {
  // The decoder takes frames first and gives RGB in [0, 1].
  const at::Tensor rgb = model_->decoder->decode(x0.permute({1, 0, 2, 3}));
  return rgb.permute({0, 2, 3, 1}).mul(255.0).round_().to(at::kByte);
}

at::Tensor render_preview(const at::Tensor& x0, int scale, const PreviewDecoder* decoder) {
  const int64_t frames = x0.size(1), h = x0.size(2), w = x0.size(3);
  const PreviewLayout l = preview_layout(frames, h, w, scale);
  const int64_t ch = h * scale, cw = w * scale;
  at::Tensor rgb;
  if (decoder && scale == 8) {
    rgb = decoder->frames(x0);
  } else {
    // As ComfyUI's preview_to_image: [-1, 1] -> [0, 255], rounded.
    rgb = latent_to_rgb(x0).add_(1.0).mul_(127.5).round_().to(at::kByte);
    if (scale > 1)
      rgb = rgb.view({frames, h, 1, w, 1, 3}).expand({frames, h, scale, w, scale, 3}).reshape({frames, ch, cw, 3});
  }
  at::Tensor cells = at::zeros({int64_t(l.rows) * l.columns, ch, cw, 3}, rgb.options());
  cells.narrow(0, 0, frames).copy_(rgb);
  const at::Tensor grid =
      cells.view({l.rows, l.columns, ch, cw, 3}).permute({0, 2, 1, 3, 4}).reshape({l.height, l.width, 3});
  // The one copy to the host: the finished uint8 picture.
  return grid.to(at::kCPU).contiguous();
}

std::function<void(const DenoiseStep&)> preview_hook(const PreviewCallbacks& callbacks, int total_steps) {
  if (!callbacks.scale || !callbacks.on_preview) return {};
  return [callbacks, total_steps](const DenoiseStep& step) {
    const int scale = callbacks.scale();
    if (scale <= 0) return;
    // The factors are Wan2.1's: a latent of another channel count gets no preview.
    if (step.sample.dim() != 4 || step.sample.size(0) != 16) return;
    const at::Tensor x0 = predicted_x0(step);
    Preview p;
    p.step = step.index + 1;
    p.total_steps = total_steps;
    p.layout = preview_layout(x0.size(1), x0.size(2), x0.size(3), scale);
    p.image = render_preview(x0, scale, callbacks.decoder.get());
    callbacks.on_preview(p);
  };
}

}  // namespace wan
