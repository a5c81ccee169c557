// The causal DiT's KV cache (models/dit/kv_cache.h): appending chunks, rewriting the last
// chunk in place, and the rolling window with attention sinks (which frames stay, in which
// slots, and the errors for chunks that cannot be placed).
#include <string>
#include <vector>

#include "models/dit/kv_cache.h"
#include "tests/unit/check.h"

#define CHECK(cond) wan::test::report((cond), #cond, __FILE__, __LINE__)
#define CHECK_ERROR(expr, needle) wan::test::expect_error([&] { expr; }, needle, __FILE__, __LINE__)

namespace {

constexpr int64_t kFrameTokens = 2, kHeads = 1, kHeadDim = 3;

// A chunk whose every entry names its absolute frame (keys) or minus it (values), plus a
// tag that tells one write of the same frames from another.
at::Tensor frames_tensor(int64_t first, int64_t count, double tag, double sign) {
  std::vector<at::Tensor> rows;
  for (int64_t f = first; f < first + count; ++f)
    rows.push_back(at::full({1, kFrameTokens, kHeads, kHeadDim}, sign * (static_cast<double>(f) + tag)));
  return at::cat(rows, 1);
}

void write_frames(wan::dit::KVCache& cache, int64_t first, int64_t count, double tag = 0) {
  cache.write(frames_tensor(first, count, tag, 1), frames_tensor(first, count, tag, -1), first * kFrameTokens);
}

// The absolute frame each slot's keys name, frame by frame (the tag dropped).
std::vector<int64_t> cached_frames(const wan::dit::KVCache& cache) {
  std::vector<int64_t> frames;
  const at::Tensor k = cache.keys();
  const at::Tensor v = cache.values();
  for (int64_t s = 0; s < cache.local_end(); s += kFrameTokens) {
    const double key = k[0][s][0][0].item<double>();
    CHECK(v[0][s][0][0].item<double>() == -key);                           // values travel with their keys
    CHECK(k[0].slice(0, s, s + kFrameTokens).eq(key).all().item<bool>());  // the whole frame moved together
    frames.push_back(static_cast<int64_t>(key));
  }
  return frames;
}

std::string str(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += std::to_string(x) + " ";
  return s;
}

#define CHECK_FRAMES(cache, ...)                                                                                    \
  wan::test::report(cached_frames(cache) == std::vector<int64_t>{__VA_ARGS__}, "cached frames", __FILE__, __LINE__, \
                    "got " + str(cached_frames(cache)))

void global_attention_appends() {
  wan::dit::KVCache cache(kFrameTokens);
  CHECK(!cache.keys().defined());
  for (int64_t c = 0; c < 4; ++c) write_frames(cache, 3 * c, 3);
  CHECK(cache.local_end() == 12 * kFrameTokens);
  CHECK(cache.global_end() == 12 * kFrameTokens);
  CHECK_FRAMES(cache, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
}

void last_chunk_is_rewritten_in_place() {
  wan::dit::KVCache cache(kFrameTokens);
  write_frames(cache, 0, 3);
  write_frames(cache, 3, 3, 0.25);  // a denoising step of chunk 1
  write_frames(cache, 3, 3, 0.5);   // its next step: the same slots
  CHECK(cache.local_end() == 6 * kFrameTokens);
  CHECK(cache.keys()[0][3 * kFrameTokens][0][0].item<double>() == 3.5);
  CHECK(cache.keys()[0][0][0][0].item<double>() == 0.0);  // chunk 0 untouched
  // Neither the next chunk nor the last one: refused.
  CHECK_ERROR(write_frames(cache, 0, 3), "neither follows");
  CHECK_ERROR(write_frames(cache, 7, 3), "neither follows");
  CHECK_ERROR(write_frames(cache, 4, 2), "neither follows");
  cache.reset();
  CHECK(cache.local_end() == 0 && cache.global_end() == 0);
  write_frames(cache, 0, 1);
  CHECK_FRAMES(cache, 0);
}

void rolling_window_keeps_sinks_and_recent_frames() {
  // L = 7 frames, K = 1 sink frame, chunks of 3: the sink, the most recent L - K - 3 = 3
  // earlier frames, then the chunk.
  wan::dit::KVCache cache(kFrameTokens, 7, 1);
  CHECK(cache.capacity() == 7 * kFrameTokens);
  write_frames(cache, 0, 3);
  write_frames(cache, 3, 3);
  CHECK_FRAMES(cache, 0, 1, 2, 3, 4, 5);
  write_frames(cache, 6, 3, 0.5);  // 9 frames > 7: frames 1 and 2 go
  CHECK_FRAMES(cache, 0, 3, 4, 5, 6, 7, 8);
  CHECK(cache.keys()[0][6 * kFrameTokens][0][0].item<double>() == 8.5);
  write_frames(cache, 6, 3);  // the same chunk again: no further eviction
  CHECK_FRAMES(cache, 0, 3, 4, 5, 6, 7, 8);
  CHECK(cache.keys()[0][6 * kFrameTokens][0][0].item<double>() == 8.0);
  write_frames(cache, 9, 3);
  CHECK_FRAMES(cache, 0, 6, 7, 8, 9, 10, 11);
  CHECK(cache.global_end() == 12 * kFrameTokens && cache.local_end() == 7 * kFrameTokens);
}

void rolling_window_without_sinks() {
  wan::dit::KVCache cache(kFrameTokens, 4, 0);
  write_frames(cache, 0, 1);  // an independent first frame
  write_frames(cache, 1, 3);
  CHECK_FRAMES(cache, 0, 1, 2, 3);
  write_frames(cache, 4, 3);
  CHECK_FRAMES(cache, 3, 4, 5, 6);
}

void window_must_hold_chunk_and_sinks() {
  // L >= n_c + K: a 3-frame chunk and 2 sinks need 5 frames.
  wan::dit::KVCache cache(kFrameTokens, 4, 2);
  write_frames(cache, 0, 3);
  CHECK_ERROR(write_frames(cache, 3, 3), "local_attn_size must be >= frames per chunk + sink_size");
  CHECK_ERROR(wan::dit::KVCache(kFrameTokens, 2, 2), "must be smaller than local_attn_size");
  CHECK_ERROR(wan::dit::KVCache(kFrameTokens, 0, 0), "local_attn_size must be -1");
  CHECK_ERROR(wan::dit::KVCache(0), "tokens per frame");
  wan::dit::KVCache ok(kFrameTokens);
  CHECK_ERROR(ok.write(at::zeros({1, 3, 1, 3}), at::zeros({1, 3, 1, 3}), 0), "not a whole number of frames");
  CHECK_ERROR(ok.write(at::zeros({1, 2, 1, 3}), at::zeros({1, 2, 1, 4}), 0), "must both be");
}

}  // namespace

int main() {
  global_attention_appends();
  last_chunk_is_rewritten_in_place();
  rolling_window_keeps_sinks_and_recent_frames();
  rolling_window_without_sinks();
  window_must_hold_chunk_and_sinks();
  return wan::test::check_exit("kv-cache");
}
