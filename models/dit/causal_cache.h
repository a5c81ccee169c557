// What the causal DiT (WanModelImpl::forward_chunk, Self-Forcing's chunk-wise
// autoregressive Wan2.1) keeps between the chunks of one video: per block, the KV cache of
// the self-attention and the cross-attention's projections of the prompt.
#pragma once

#include <cstdint>
#include <vector>

#include "models/dit/dit_block.h"

namespace wan::dit {

struct CausalCache {
  // num_blocks: the model's blocks; frame_tokens: tokens per latent frame ((H/2)(W/2));
  // window_frames (local_attn_size, -1 = global attention) and sink_frames (sink_size) as
  // in KVCache.
  CausalCache(int64_t num_blocks, int64_t frame_tokens, int64_t window_frames = -1, int64_t sink_frames = 0);

  // A new video: empties every KV cache (the next chunk starts at frame 0) and forgets the prompt.
  void reset();
  // A new prompt: the next chunk projects its context afresh; the cached frames stay.
  void forget_context();
  // Whether the prompt's projections are cached (the context of the next chunk is then unused).
  bool has_context() const { return !blocks.empty() && !blocks[0].context.empty(); }

  int64_t frame_tokens;
  std::vector<BlockCache> blocks;
};

}  // namespace wan::dit
