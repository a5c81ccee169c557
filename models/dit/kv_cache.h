// The self-attention KV cache of one DiT block for chunk-wise autoregressive generation
// (Self-Forcing's causal Wan2.1): the keys (after RoPE, at their absolute frame positions)
// and values of the chunks generated so far, frame-major, chunk after chunk.
//
// A chunk's first write appends it; its later writes (its other denoising steps and the
// cache-update pass on its clean result) overwrite the same slots, so later chunks only see
// what the last write left. With a window of L frames the cache keeps the first `sink`
// frames (attention sinks, never evicted), the most recent earlier frames and the chunk:
// when a new chunk does not fit, the oldest non-sink tokens are dropped and the rest move
// down (cached keys keep the rotation they were written with).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace wan::dit {

class KVCache {
 public:
  // frame_tokens: tokens per latent frame; window_frames: L, or -1 for no eviction;
  // sink_frames: K >= 0 (only with a window; L must exceed it).
  KVCache(int64_t frame_tokens, int64_t window_frames = -1, int64_t sink_frames = 0);

  // Writes a chunk's keys and values [B, n, heads, head_dim], its first token at absolute
  // index `start_token`: a new chunk (start_token == global_end()) is appended, after an
  // eviction where the window is full; the chunk written last (same start_token and
  // size) is overwritten in place. Anything else, and a chunk that leaves no room for the
  // sinks (L < n / frame_tokens + K), is a wan::Error.
  void write(const at::Tensor& k, const at::Tensor& v, int64_t start_token);

  // The valid slots [B, local_end(), heads, head_dim] (views; undefined before any write).
  at::Tensor keys() const;
  at::Tensor values() const;

  int64_t global_end() const { return global_end_; }  // absolute end of the last chunk written
  int64_t local_end() const { return local_end_; }    // slots in use
  int64_t capacity() const { return capacity_; }      // tokens; -1 without a window

  // Empties the cache (the next chunk starts at token 0); keeps the storage.
  void reset();

 private:
  void store(const at::Tensor& k, const at::Tensor& v, int64_t slot);

  int64_t frame_tokens_;
  int64_t capacity_;
  int64_t sink_tokens_;
  at::Tensor k_, v_;  // [B, slots, heads, head_dim]
  int64_t global_end_ = 0;
  int64_t local_end_ = 0;
  int64_t last_start_ = -1;  // first token of the chunk written last
};

}  // namespace wan::dit
