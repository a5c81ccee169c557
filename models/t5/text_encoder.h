// Prompt -> umT5 context, as Wan's T5EncoderModel: tokenise (with the
// reference's cleaning), encode, trim each prompt's output to its tokens.
// The encoder may live on its own device (the CPU is a real option) and is
// loaded by load() or else on the first prompt that is not cached: a prompt
// seen before (in this process, or in `cache_dir` for the same checkpoint)
// never reruns it.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "models/t5/t5_encoder.h"
#include "models/t5/tokenizer.h"

namespace wan {

struct TextEncoderOptions {
  std::string checkpoint;  // umT5 weights (see read_t5_checkpoint / load_t5_encoder)
  std::string tokenizer;   // google/umt5-xxl/spiece.model
  int64_t text_len = 512;
  at::Device device = at::kCPU;
  at::ScalarType dtype = at::kFloat;
  std::string cache_dir;                               // on-disk prompt-embedding cache; "" = in memory only
  std::function<void(const std::string&)> on_warning;  // truncated prompts, cache trouble
};

class TextEncoder {
 public:
  explicit TextEncoder(TextEncoderOptions options);

  // Each prompt's context [L_i, dim] on the encoder's device (L_i = its tokens
  // including </s>). Thread-safe. `between_passes` runs between the passes of
  // prompt cleaning (see clean_prompt): a cancellation check that throws.
  std::vector<at::Tensor> encode(const std::vector<std::string>& prompts,
                                 const std::function<void()>& between_passes = {});
  at::Tensor encode(const std::string& prompt) { return encode(std::vector<std::string>{prompt}).at(0); }

  // How many prompts went through umT5 so far (cache misses).
  int64_t encoder_runs() const;
  // Loads umT5 now rather than on the first uncached prompt, so that a pipeline
  // being prepared pays for it instead of its first request. Thread-safe.
  void load();
  const T5Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  std::string cache_key(const std::string& prompt) const;
  at::Tensor read_disk_cache(const std::string& key);
  void write_disk_cache(const std::string& key, const at::Tensor& context);
  void remember(const std::string& prompt, const at::Tensor& context);
  void warn(const std::string& message) const;
  void load_locked();  // load() with mutex_ held

  TextEncoderOptions options_;
  T5Tokenizer tokenizer_;
  std::string model_identity_;  // checkpoint and tokenizer files: path, size, mtime
  T5Encoder model_{nullptr};    // loaded by load() or on the first cache miss
  std::map<std::string, at::Tensor> memory_;
  std::deque<std::string> memory_order_;  // oldest first, for eviction
  int64_t encoder_runs_ = 0;
  mutable std::mutex mutex_;
};

// hidden [B, L, dim] -> hidden[i, :mask[i].sum()] for each i.
std::vector<at::Tensor> trim_to_mask(const at::Tensor& hidden, const at::Tensor& mask);

}  // namespace wan
