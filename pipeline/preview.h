// Live previews of a clip while it denoises: after each step, the clean latent that step
// predicts (x0 = x_t - sigma_t * v for flow matching) mapped to RGB per latent frame by a
// fixed linear map (ComfyUI's Wan2.1 "latent2rgb" factors), laid out as one picture.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <ATen/ATen.h>

namespace wan {

struct DenoiseStep;

// The 16x3 factors and 3 biases of the map, float32 [16, 3] and [3] on the CPU.
at::Tensor latent_rgb_factors();
at::Tensor latent_rgb_bias();

// Normalised latent [16, F, h, w] (the DiT's space, (mu - mean) / std) -> RGB in [-1, 1] as
// ComfyUI's previewer makes it: float32 [F, h, w, 3] on the latent's device, clamped.
at::Tensor latent_to_rgb(const at::Tensor& latent);

// The clean latent the step predicts: its sample minus sigma times the guided flow.
at::Tensor predicted_x0(const DenoiseStep& step);

// The picture of a clip's F latent frames: a grid of `columns` = ceil(sqrt(F)) columns,
// filled left to right then top to bottom (empty cells black), each cell w x h latent
// pixels times `scale` (nearest).
struct PreviewLayout {
  int frames = 0, columns = 0, rows = 0;
  int width = 0, height = 0;  // of the whole picture, in pixels
};
PreviewLayout preview_layout(int64_t frames, int64_t latent_height, int64_t latent_width, int scale);

struct Preview {
  int step = 0;  // 1-based
  int total_steps = 0;
  PreviewLayout layout;
  at::Tensor image;  // uint8 RGB [height, width, 3] on the CPU, contiguous
};

// TAEW2.1 (models/taehv) as the previewer at the video's resolution: each latent frame
// decoded to one RGB frame 8x its size (the decoder's cheap variant, without temporal
// upscaling), in place of the linear map scaled x8 by repetition.
class PreviewDecoder {
 public:
  // taew2_1.pth / taew2_1.safetensors onto `device` (bf16 on CUDA, float32 elsewhere).
  // Throws wan::Error naming the file and what is wrong with it.
  static std::shared_ptr<const PreviewDecoder> load(const std::string& path, const at::Device& device);
  // x0 [16, F, h, w] -> uint8 RGB [F, 8h, 8w, 3] on the decoder's device.
  at::Tensor frames(const at::Tensor& x0) const;

 private:
  struct Model;
  std::shared_ptr<Model> model_;
};

// The preview picture of latent x0 [16, F, h, w]: mapped, scaled and laid out on its device,
// then one copy of the uint8 picture to the host. With a decoder and scale 8, the decoder
// renders the frames.
at::Tensor render_preview(const at::Tensor& x0, int scale, const PreviewDecoder* decoder = nullptr);

// What a generation asks for (pipeline/pipeline.h GenerationCallbacks).
struct PreviewCallbacks {
  // Asked at every step: 0 = no preview of this step (nothing is computed), else the scale
  // (1 = latent resolution, 8 = the video's). Unset = no previews.
  std::function<int()> scale;
  std::function<void(const Preview&)> on_preview;
  // Renders scale-8 previews when set (else the linear map, repeated x8).
  std::shared_ptr<const PreviewDecoder> decoder;
};

// The denoise loop's per-step hook that renders and hands out previews; empty when the
// callbacks ask for none.
std::function<void(const DenoiseStep&)> preview_hook(const PreviewCallbacks& callbacks, int total_steps);

}  // namespace wan
