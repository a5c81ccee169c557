#include "models/vae/tiled_decode.h"

#include <algorithm>
#include <string>

#include "models/common/error.h"

namespace wan {

void DecodeOptions::validate() const {
  if (tile_latent_h < 0 || tile_latent_w < 0 || overlap < 0)
    throw Error("VAE decode tiling: tile sizes and overlap must be >= 0, got tiles " + std::to_string(tile_latent_h) +
                "x" + std::to_string(tile_latent_w) + " overlap " + std::to_string(overlap));
  for (int64_t tile : {tile_latent_h, tile_latent_w})
    if (tile > 0 && overlap >= tile)
      throw Error("VAE decode tiling: the overlap (" + std::to_string(overlap) +
                  ") must be smaller than the tile size (" + std::to_string(tile) + " latent pixels)");
}

namespace vae {

std::vector<TileSpan> tile_spans(int64_t extent, int64_t tile, int64_t overlap) {
  if (tile <= 0 || tile >= extent) return {TileSpan{0, extent, 0, 0}};
  std::vector<int64_t> starts = {0};
  while (starts.back() + tile < extent) starts.push_back(std::min(starts.back() + tile - overlap, extent - tile));
  std::vector<TileSpan> spans;
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t before = i > 0 ? starts[i - 1] + tile - starts[i] : 0;
    const int64_t after = i + 1 < starts.size() ? starts[i] + tile - starts[i + 1] : 0;
    spans.push_back(TileSpan{starts[i], tile, before, after});
  }
  return spans;
}

at::Tensor span_blend_weights(const TileSpan& span, int64_t scale, const at::TensorOptions& options) {
  const int64_t n = span.size * scale;
  const at::Tensor p = at::arange(n, options.dtype(at::kDouble)) + 0.5;  // pixel centres
  at::Tensor w = at::ones({n}, options.dtype(at::kDouble));
  if (span.overlap_before > 0) w = at::minimum(w, p / static_cast<double>(span.overlap_before * scale));
  if (span.overlap_after > 0) w = at::minimum(w, (n - p) / static_cast<double>(span.overlap_after * scale));
  return w.to(at::kFloat);
}

namespace {

struct Tile {
  TileSpan y, x;
  at::Tensor weights;  // [scale * y.size, scale * x.size] float32
};

struct TileLayout {
  std::vector<Tile> tiles;
  at::Tensor weight_sum;  // [scale * h, scale * w]
  int64_t scale;          // video pixels per latent pixel
  int64_t frames;         // video frames of the whole decode
};

// The tile's part of the latent-sized `input` ([..., h, w]).
at::Tensor latent_region(const at::Tensor& input, const Tile& tile) {
  return input.narrow(-2, tile.y.start, tile.y.size).narrow(-1, tile.x.start, tile.x.size);
}

// The tile's part of the video-sized `video` ([..., scale * h, scale * w]).
at::Tensor video_region(const at::Tensor& video, const Tile& tile, int64_t scale) {
  return video.narrow(-2, tile.y.start * scale, tile.y.size * scale)
      .narrow(-1, tile.x.start * scale, tile.x.size * scale);
}

TileLayout layout_tiles(const WanVAEModelImpl& model, const at::Tensor& input, const DecodeOptions& options) {
  options.validate();
  const VAEConfig& config = model.config();
  TileLayout layout;
  layout.scale = config.spatial_scale();
  layout.frames = 1 + (input.size(2) - 1) * config.temporal_scale();
  const auto f32 = input.options().dtype(at::kFloat);
  layout.weight_sum = at::zeros({input.size(3) * layout.scale, input.size(4) * layout.scale}, f32);
  for (const TileSpan& y : tile_spans(input.size(3), options.tile_latent_h, options.overlap)) {
    for (const TileSpan& x : tile_spans(input.size(4), options.tile_latent_w, options.overlap)) {
      Tile tile{y, x, at::outer(span_blend_weights(y, layout.scale, f32), span_blend_weights(x, layout.scale, f32))};
      video_region(layout.weight_sum, tile, layout.scale).add_(tile.weights);
      layout.tiles.push_back(std::move(tile));
    }
  }
  return layout;
}

// Adds the tile's decoded chunk, weighted, to `target` (the video or one chunk of it).
void blend_into(at::Tensor& target, const at::Tensor& decoded, const Tile& tile, int64_t scale) {
  video_region(target, tile, scale).add_(decoded.to(at::kFloat).mul_(tile.weights));
}

}  // namespace

at::Tensor decode_tile_by_tile(const WanVAEModelImpl& model, const at::Tensor& input, const DecodeOptions& options) {
  const TileLayout layout = layout_tiles(model, input, options);
  at::Tensor video = at::zeros({input.size(0), 3, layout.frames, layout.weight_sum.size(0), layout.weight_sum.size(1)},
                               input.options().dtype(at::kFloat));
  for (const Tile& tile : layout.tiles) {
    const at::Tensor tile_input = latent_region(input, tile);
    Decoder3dCache cache = model.make_decoder_cache();
    int64_t t = 0;
    for (int64_t f = 0; f < input.size(2); ++f) {
      const at::Tensor chunk = model.decode_frame(tile_input.narrow(2, f, 1), cache);
      at::Tensor target = video.narrow(2, t, chunk.size(2));
      blend_into(target, chunk, tile, layout.scale);
      t += chunk.size(2);
    }
  }
  return video.div_(layout.weight_sum);
}

void decode_tiles_in_step(const WanVAEModelImpl& model, const at::Tensor& input, const DecodeOptions& options,
                          const std::function<void(const at::Tensor&)>& on_chunk) {
  const TileLayout layout = layout_tiles(model, input, options);
  std::vector<Decoder3dCache> caches;
  for (size_t i = 0; i < layout.tiles.size(); ++i) caches.push_back(model.make_decoder_cache());
  for (int64_t f = 0; f < input.size(2); ++f) {
    at::Tensor blended;
    for (size_t i = 0; i < layout.tiles.size(); ++i) {
      const Tile& tile = layout.tiles[i];
      const at::Tensor chunk = model.decode_frame(latent_region(input, tile).narrow(2, f, 1), caches[i]);
      if (!blended.defined())
        blended = at::zeros(
            {chunk.size(0), chunk.size(1), chunk.size(2), layout.weight_sum.size(0), layout.weight_sum.size(1)},
            input.options().dtype(at::kFloat));
      blend_into(blended, chunk, tile, layout.scale);
    }
    on_chunk(blended.div_(layout.weight_sum));
  }
}

}  // namespace vae
}  // namespace wan
