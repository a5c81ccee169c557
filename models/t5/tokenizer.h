// umT5 tokenisation as Wan does it (HuggingfaceTokenizer(clean='whitespace')
// over google/umt5-xxl): clean the prompt, SentencePiece pieces, append </s>,
// truncate to text_len keeping </s>, right-pad with <pad>.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace wan {

class SentencePieceModel;

struct TokenizedPrompts {
  at::Tensor ids;                // [B, text_len] int64: pieces, </s>, then <pad>
  at::Tensor mask;               // [B, text_len] int64: 1 on the real tokens (</s> included)
  std::vector<int64_t> lengths;  // real tokens per prompt
  std::vector<bool> truncated;   // the prompt had more than text_len - 1 pieces
};

class T5Tokenizer {
 public:
  // `model_path`: the SentencePiece model (google/umt5-xxl/spiece.model).
  // Throws wan::Error when it is missing or unreadable.
  explicit T5Tokenizer(const std::string& model_path, int64_t text_len = 512);
  ~T5Tokenizer();
  T5Tokenizer(T5Tokenizer&&) noexcept;
  T5Tokenizer& operator=(T5Tokenizer&&) noexcept;

  // Cleans and tokenises each prompt. Throws wan::Error on invalid UTF-8.
  // `between_passes`: see clean_prompt (a cancellation check that throws).
  TokenizedPrompts encode(const std::vector<std::string>& prompts,
                          const std::function<void()>& between_passes = {}) const;
  // The SentencePiece ids of already-cleaned text, without </s>.
  std::vector<int> pieces(const std::string& cleaned) const;

  int64_t text_len() const { return text_len_; }
  int64_t vocab_size() const;
  int64_t pad_id() const { return pad_id_; }
  int64_t eos_id() const { return eos_id_; }

 private:
  std::unique_ptr<SentencePieceModel> sp_;
  int64_t text_len_;
  int64_t pad_id_ = 0;
  int64_t eos_id_ = 1;
};

}  // namespace wan
