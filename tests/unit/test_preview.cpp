// The step previews (pipeline/preview.h): the latent-to-RGB map against values worked out by
// hand from ComfyUI's Wan2.1 factors, the grid layout, x0 from a step, the hook's gating, and
// the preview pad's hand-over slot (gst/preview_slot.h).
#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "gst/preview_slot.h"
#include "models/weights/safetensors.h"
#include "pipeline/denoise_loop.h"
#include "pipeline/preview.h"
#include "tests/common/random_taehv.h"
#include "tests/unit/check.h"

namespace {

#define CHECK_RGB(image, y, x, r, g, b)                                                                               \
  wan::test::report(pixel(image, y, x) == std::array<int, 3>{r, g, b}, "pixel (" #y ", " #x ") == " #r "," #g "," #b, \
                    __FILE__, __LINE__, describe(pixel(image, y, x)))

std::array<int, 3> pixel(const at::Tensor& image, int64_t y, int64_t x) {
  const at::Tensor p = image[y][x];
  return {p[0].item<int>(), p[1].item<int>(), p[2].item<int>()};
}

std::string describe(const std::array<int, 3>& p) {
  return "(got " + std::to_string(p[0]) + "," + std::to_string(p[1]) + "," + std::to_string(p[2]) + ")";
}

// One latent frame of one pixel with the given channel values.
at::Tensor pixel_latent(const std::vector<std::pair<int, float>>& channels) {
  at::Tensor latent = at::zeros({16, 1, 1, 1});
  for (const auto& [c, v] : channels) latent[c][0][0][0] = v;
  return latent;
}

// By hand: rgb = sum_c latent[c] * factors[c] + bias, clamped to [-1, 1], then
// round((rgb + 1) * 127.5).
void maps_like_comfyui() {
  // Zero latent: the bias (-0.1835, -0.0868, -0.3360) -> 104.10, 116.43, 84.66.
  CHECK_RGB(wan::render_preview(pixel_latent({}), 1), 0, 0, 104, 116, 85);
  // Channel 0 alone: (-0.1299, -0.1692, 0.2932) + bias = (-0.3134, -0.2560, -0.0428)
  // -> 87.54, 94.86, 122.04.
  CHECK_RGB(wan::render_preview(pixel_latent({{0, 1.0f}}), 1), 0, 0, 88, 95, 122);
  // Channels 0 and 14: (-0.1299 + 0.3477, -0.1692 + 0.2275, 0.2932 + 0.2950) + bias =
  // (0.0343, -0.0285, 0.2522) -> 131.87, 123.87, 159.66.
  CHECK_RGB(wan::render_preview(pixel_latent({{0, 1.0f}, {14, 1.0f}}), 1), 0, 0, 132, 124, 160);
  // Channel 6 at -2: 2 * (0.3477, 0.4059, 0.2925) + bias = (0.5119, 0.7250, 0.2490)
  // -> 192.77, 219.94, 159.25.
  CHECK_RGB(wan::render_preview(pixel_latent({{6, -2.0f}}), 1), 0, 0, 193, 220, 159);
  // Clamped to [-1, 1]: channel 2 at +10 is white, at -10 black.
  CHECK_RGB(wan::render_preview(pixel_latent({{2, 10.0f}}), 1), 0, 0, 255, 255, 255);
  CHECK_RGB(wan::render_preview(pixel_latent({{2, -10.0f}}), 1), 0, 0, 0, 0, 0);
  // The float map before rounding.
  const at::Tensor rgb = wan::latent_to_rgb(pixel_latent({{0, 1.0f}}));
  EXPECT(rgb.sizes() == at::IntArrayRef({1, 1, 1, 3}));
  EXPECT(std::abs(rgb[0][0][0][0].item<float>() - -0.3134f) < 1e-5f);
  EXPECT(std::abs(rgb[0][0][0][2].item<float>() - -0.0428f) < 1e-5f);
  wan::test::expect_error([] { wan::latent_to_rgb(at::zeros({4, 1, 2, 2})); }, "16", __FILE__, __LINE__);
}

// Five frames of 3x2: a grid of 3 columns and 2 rows, the sixth cell black; each frame's
// cell at its place, scaled by nearest repetition.
void lays_out_a_grid() {
  const wan::PreviewLayout l = wan::preview_layout(5, 2, 3, 1);
  EXPECT(l.frames == 5 && l.columns == 3 && l.rows == 2 && l.width == 9 && l.height == 4);
  const wan::PreviewLayout big = wan::preview_layout(21, 60, 104, 8);
  EXPECT(big.columns == 5 && big.rows == 5 && big.width == 5 * 104 * 8 && big.height == 5 * 60 * 8);
  EXPECT(wan::preview_layout(1, 6, 10, 1).width == 10);

  // Frame f: channel 2 at +10 (white) at its pixel (f % 2, f % 3), the rest zero (the bias).
  at::Tensor latent = at::zeros({16, 5, 2, 3});
  for (int f = 0; f < 5; ++f) latent[2][f][f % 2][f % 3] = 10.0f;
  for (int scale : {1, 8}) {
    const at::Tensor image = wan::render_preview(latent, scale);
    EXPECT(image.sizes() == at::IntArrayRef({4 * scale, 9 * scale, 3}));
    EXPECT(image.is_contiguous() && image.device().is_cpu() && image.scalar_type() == at::kByte);
    for (int f = 0; f < 5; ++f) {
      const int64_t cell_y = (f / 3) * 2 * scale, cell_x = (f % 3) * 3 * scale;
      for (int64_t y = 0; y < 2 * scale; ++y)
        for (int64_t x = 0; x < 3 * scale; ++x) {
          const bool lit = y / scale == f % 2 && x / scale == f % 3;
          const auto expected = lit ? std::array<int, 3>{255, 255, 255} : std::array<int, 3>{104, 116, 85};
          if (pixel(image, cell_y + y, cell_x + x) != expected) {
            wan::test::report(false, "grid cell pixel", __FILE__, __LINE__,
                              "scale " + std::to_string(scale) + " frame " + std::to_string(f) + " at " +
                                  std::to_string(y) + "," + std::to_string(x) +
                                  describe(pixel(image, cell_y + y, cell_x + x)));
            return;
          }
        }
    }
    const at::Tensor empty = image.narrow(0, 2 * scale, 2 * scale).narrow(1, 6 * scale, 3 * scale);
    EXPECT(empty.eq(0).all().item<bool>());
  }
}

// x0 = x_t - sigma * v, and the hook renders only when asked, numbering steps from 1.
void hooks_the_loop() {
  const at::Tensor sample = at::randn({16, 2, 2, 3}), v = at::randn({16, 2, 2, 3});
  wan::GuidedPrediction p;
  p.guided = v;
  wan::DenoiseStep step{2, 800.0, 0.75, &p, sample, sample - 0.25 * v};
  EXPECT(at::allclose(wan::predicted_x0(step), sample - 0.75 * v));

  EXPECT(!wan::preview_hook({}, 4));
  int scale = 0, calls = 0;
  wan::Preview last;
  wan::PreviewCallbacks callbacks;
  callbacks.scale = [&] { return scale; };
  callbacks.on_preview = [&](const wan::Preview& preview) { ++calls, last = preview; };
  const auto hook = wan::preview_hook(callbacks, 4);
  EXPECT(static_cast<bool>(hook));
  hook(step);
  EXPECT(calls == 0);
  scale = 8;
  hook(step);
  EXPECT(calls == 1 && last.step == 3 && last.total_steps == 4);
  EXPECT(last.layout.frames == 2 && last.layout.columns == 2 && last.layout.width == 2 * 3 * 8);
  EXPECT(last.image.sizes() == at::IntArrayRef({16, 48, 3}));
  EXPECT(last.image.equal(wan::render_preview(sample - 0.75 * v, 8)));
}

wan::gst::PreviewItem item(int step) {
  wan::gst::PreviewItem i;
  i.preview.step = step;
  return i;
}

// The slot keeps the newest `capacity` previews, never blocks the producer, and ends.
void slot_drops_the_oldest() {
  wan::gst::PreviewSlot slot(2);
  for (int s = 1; s <= 5; ++s) EXPECT(slot.put(item(s)));
  EXPECT(slot.dropped() == 3);
  wan::gst::PreviewItem out;
  EXPECT(slot.take(out) == wan::gst::PreviewSlot::TakeResult::Item && out.preview.step == 4);
  slot.finish();
  EXPECT(!slot.put(item(6)));
  EXPECT(slot.take(out) == wan::gst::PreviewSlot::TakeResult::Item && out.preview.step == 5);
  EXPECT(slot.take(out) == wan::gst::PreviewSlot::TakeResult::End);

  wan::gst::PreviewSlot closing(2);
  EXPECT(closing.put(item(1)));
  closing.close();
  EXPECT(closing.take(out) == wan::gst::PreviewSlot::TakeResult::Closed);
}

}  // namespace

// With TAEW2.1 (random weights here: parity-taew2_1-tiny checks its values), scale-8 previews
// are its frames laid out in the same grid; other scales keep the linear map.
void decodes_with_taew2_1() {
  const auto dir = std::filesystem::temp_directory_path() / ("wan-test-preview-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "taew2_1.safetensors").string();
  wan::save_safetensors(path, wan::test::random_taehv_weights(3));
  const auto decoder = wan::PreviewDecoder::load(path, at::kCPU);
  const at::Tensor x0 = at::randn({16, 5, 3, 4});
  const at::Tensor picture = wan::render_preview(x0, 8, decoder.get());
  const wan::PreviewLayout l = wan::preview_layout(5, 3, 4, 8);
  EXPECT(picture.sizes() == at::IntArrayRef({l.height, l.width, 3}) && picture.scalar_type() == at::kByte);
  // Cell 1 (row 0, column 1) is latent frame 1 decoded.
  const at::Tensor frame1 = decoder->frames(x0)[1];
  EXPECT(picture.narrow(0, 0, 24).narrow(1, 32, 32).equal(frame1));
  EXPECT(!picture.equal(wan::render_preview(x0, 8)));
  EXPECT(wan::render_preview(x0, 1, decoder.get()).equal(wan::render_preview(x0, 1)));
  EXPECT_ERROR(wan::PreviewDecoder::load((dir / "none.pth").string(), at::kCPU), "preview model");
  std::filesystem::remove_all(dir);
}

int main() {
  maps_like_comfyui();
  decodes_with_taew2_1();
  lays_out_a_grid();
  hooks_the_loop();
  slot_drops_the_oldest();
  return wan::test::check_exit("test-preview");
}
