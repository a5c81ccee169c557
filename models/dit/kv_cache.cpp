#include "models/dit/kv_cache.h"

#include <algorithm>
#include <string>

#include <c10/core/GradMode.h>
#include <c10/util/StringUtil.h>

#include "models/common/error.h"

namespace wan::dit {

KVCache::KVCache(int64_t frame_tokens, int64_t window_frames, int64_t sink_frames)
    : frame_tokens_(frame_tokens),
      capacity_(window_frames < 0 ? -1 : window_frames * frame_tokens),
      sink_tokens_(sink_frames * frame_tokens) {
  if (frame_tokens < 1) throw Error("KV cache: tokens per frame must be positive, got " + std::to_string(frame_tokens));
  if (window_frames == 0 || window_frames < -1)
    throw Error("KV cache: local_attn_size must be -1 (global attention) or a number of frames > 0, got " +
                std::to_string(window_frames));
  if (sink_frames < 0) throw Error("KV cache: sink_size must be >= 0, got " + std::to_string(sink_frames));
  if (window_frames > 0 && sink_frames >= window_frames)
    throw Error("KV cache: sink_size " + std::to_string(sink_frames) + " must be smaller than local_attn_size " +
                std::to_string(window_frames));
}

void KVCache::write(const at::Tensor& k, const at::Tensor& v, int64_t start_token) {
  if (k.dim() != 4 || k.sizes() != v.sizes())
    throw Error("KV cache: keys and values must both be [B, tokens, heads, head_dim], got " + c10::str(k.sizes()) +
                " and " + c10::str(v.sizes()));
  const int64_t n = k.size(1);
  if (n < 1 || n % frame_tokens_ != 0)
    throw Error("KV cache: a chunk of " + std::to_string(n) + " tokens is not a whole number of frames of " +
                std::to_string(frame_tokens_) + " tokens");
  if (k_.defined() && (k.sizes().slice(2) != k_.sizes().slice(2) || k.size(0) != k_.size(0)))
    throw Error("KV cache: a chunk of shape " + c10::str(k.sizes()) + " does not match the cached " +
                c10::str(k_.sizes()));
  c10::AutoGradMode no_grad(false);

  if (start_token == last_start_ && start_token + n == global_end_) {  // the last chunk again: same slots
    store(k, v, local_end_ - n);
    return;
  }
  if (start_token != global_end_)
    throw Error("KV cache: a chunk at token " + std::to_string(start_token) + " (" + std::to_string(n) +
                " tokens) neither follows the cached tokens (which end at " + std::to_string(global_end_) +
                ") nor repeats the last chunk");
  if (capacity_ > 0 && local_end_ + n > capacity_) {
    // Drop the oldest tokens after the sinks; the rest move down to make room at the end.
    const int64_t evicted = local_end_ + n - capacity_;
    const int64_t rolled = local_end_ - evicted - sink_tokens_;
    if (rolled < 0)
      throw Error("KV cache: a chunk of " + std::to_string(n / frame_tokens_) + " frames does not fit a window of " +
                  std::to_string(capacity_ / frame_tokens_) + " frames with " +
                  std::to_string(sink_tokens_ / frame_tokens_) +
                  " sink frames (local_attn_size must be >= frames per chunk + sink_size)");
    for (at::Tensor* t : {&k_, &v_})
      t->slice(1, sink_tokens_, sink_tokens_ + rolled)
          .copy_(t->slice(1, sink_tokens_ + evicted, sink_tokens_ + evicted + rolled).clone());
    local_end_ -= evicted;
  }
  store(k, v, local_end_);
  local_end_ += n;
  last_start_ = start_token;
  global_end_ = start_token + n;
}

void KVCache::store(const at::Tensor& k, const at::Tensor& v, int64_t slot) {
  const int64_t end = slot + k.size(1);
  if (!k_.defined() || k_.size(1) < end || k_.scalar_type() != k.scalar_type() || k_.device() != k.device()) {
    // With a window the whole window at once; without, room for as many tokens again.
    const int64_t slots = capacity_ > 0 ? capacity_ : std::max<int64_t>(end, 2 * local_end_);
    std::vector<int64_t> sizes = k.sizes().vec();
    sizes[1] = slots;
    at::Tensor nk = at::zeros(sizes, k.options()), nv = at::zeros(sizes, v.options());
    if (k_.defined() && local_end_ > 0) {
      nk.slice(1, 0, local_end_).copy_(k_.slice(1, 0, local_end_));
      nv.slice(1, 0, local_end_).copy_(v_.slice(1, 0, local_end_));
    }
    k_ = nk;
    v_ = nv;
  }
  k_.slice(1, slot, end).copy_(k);
  v_.slice(1, slot, end).copy_(v);
}

at::Tensor KVCache::keys() const { return k_.defined() ? k_.slice(1, 0, local_end_) : at::Tensor(); }
at::Tensor KVCache::values() const { return v_.defined() ? v_.slice(1, 0, local_end_) : at::Tensor(); }

void KVCache::reset() {
  global_end_ = 0;
  local_end_ = 0;
  last_start_ = -1;
}

}  // namespace wan::dit
