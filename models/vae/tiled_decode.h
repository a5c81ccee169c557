// Spatially tiled VAE decode: the latent is cut into overlapping tiles, each
// tile is decoded on its own (zeros beyond its borders, like the whole frame's
// edges), and the decoded tiles are blended with weights that ramp linearly
// across each overlap, normalised by their sum.
//
// The result is not the untiled decode: pixels near a tile border miss the
// context beyond it, and the decoder's reach is wide (eleven 3x3
// convolutions at latent resolution alone, and the middle attention sees the
// whole frame, so no overlap makes tiling exact). test-vae checks the tiling itself (with a decoder that sees only
// its own latent pixel, tiles 4x4 overlap 2 give the untiled decode to
// < 1e-6 rel. L2) and measures the fixture's random-weight decoder: tiles 4x4
// overlap 2 of an 8x8 latent are 0.79 rel. L2 away from the untiled decode,
// i.e. useless at that size. With trained weights the error has to be
// measured with the real checkpoint (bench-vae --weights FILE --tiles ...
// reports it as tile_rel_l2); use tiles much larger than the decoder's reach.
// A tile as large as the latent gives the untiled decode exactly.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/ATen.h>

#include "models/vae/wan_vae_model.h"

namespace wan {

// Off by default. A tile size of 0 (or at least the latent's) leaves that axis whole.
struct DecodeOptions {
  int64_t tile_latent_h = 0, tile_latent_w = 0;  // tile size in latent pixels (x8 in the video)
  int64_t overlap = 0;                           // latent pixels shared by neighbouring tiles, < tile size

  bool tiled() const { return tile_latent_h > 0 || tile_latent_w > 0; }
  // Throws wan::Error when the overlap does not fit the tiles.
  void validate() const;
};

namespace vae {

// One axis of the tile grid, in latent pixels.
struct TileSpan {
  int64_t start, size;
  int64_t overlap_before, overlap_after;  // with the neighbouring spans (0 at the edges)
};

// Spans of `tile` with `overlap` covering [0, extent): steps of tile - overlap,
// the last span aligned to the end. One span when tile is 0 or >= extent.
std::vector<TileSpan> tile_spans(int64_t extent, int64_t tile, int64_t overlap);

// Blend weight per video pixel of a span ([size * scale]): 1 inside, a linear
// ramp across each overlap, so the weights of two neighbours sum to 1 there.
at::Tensor span_blend_weights(const TileSpan& span, int64_t scale, const at::TensorOptions& options);

// Decoder input (WanVAEModelImpl::decoder_input) [B, z_dim, F, h, w] -> video
// [B, 3, 4F - 3, 8h, 8w] float32, one tile after the other: only one tile's
// caches are held at a time.
at::Tensor decode_tile_by_tile(const WanVAEModelImpl& model, const at::Tensor& input, const DecodeOptions& options);

// The same, all tiles stepping through the latent frames together (every
// tile's caches are held), each blended chunk handed out as soon as it is done.
void decode_tiles_in_step(const WanVAEModelImpl& model, const at::Tensor& input, const DecodeOptions& options,
                          const std::function<void(const at::Tensor&)>& on_chunk);

}  // namespace vae
}  // namespace wan
