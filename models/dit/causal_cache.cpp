#include "models/dit/causal_cache.h"

#include <string>

#include "models/common/error.h"

namespace wan::dit {

CausalCache::CausalCache(int64_t num_blocks, int64_t frame_tokens, int64_t window_frames, int64_t sink_frames)
    : frame_tokens(frame_tokens) {
  if (num_blocks < 1) throw Error("causal DiT cache: the model has no blocks (" + std::to_string(num_blocks) + ")");
  for (int64_t i = 0; i < num_blocks; ++i) blocks.emplace_back(KVCache(frame_tokens, window_frames, sink_frames));
}

void CausalCache::reset() {
  for (auto& b : blocks) b.self_kv.reset();
  forget_context();
}

void CausalCache::forget_context() {
  for (auto& b : blocks) b.context = ContextKV{};
}

}  // namespace wan::dit
