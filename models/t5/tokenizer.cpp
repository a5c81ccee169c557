#include "models/t5/tokenizer.h"

#include <filesystem>

#include "models/common/error.h"
#include "models/t5/sentencepiece_model.h"
#include "models/t5/text_cleaning.h"

namespace wan {

T5Tokenizer::T5Tokenizer(const std::string& model_path, int64_t text_len) : text_len_(text_len) {
  if (text_len_ < 1) throw Error("umT5 tokenizer: text length must be at least 1");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model_path, ec))
    throw Error("umT5 tokenizer model not found: " + model_path +
                " (expected the SentencePiece file google/umt5-xxl/spiece.model of the checkpoint folder)");
  sp_ = std::make_unique<SentencePieceModel>(model_path);
  // The special tokens are looked up by name, as transformers' T5 tokenizer does.
  auto special = [&](const char* piece) {
    const int id = sp_->piece_id(piece);
    if (id < 0) throw Error("umT5 tokenizer model " + model_path + " has no '" + piece + "' token");
    return static_cast<int64_t>(id);
  };
  pad_id_ = special("<pad>");
  eos_id_ = special("</s>");
}

T5Tokenizer::~T5Tokenizer() = default;
T5Tokenizer::T5Tokenizer(T5Tokenizer&&) noexcept = default;
T5Tokenizer& T5Tokenizer::operator=(T5Tokenizer&&) noexcept = default;

int64_t T5Tokenizer::vocab_size() const { return sp_->size(); }

std::vector<int> T5Tokenizer::pieces(const std::string& cleaned) const { return sp_->encode(cleaned); }

TokenizedPrompts T5Tokenizer::encode(const std::vector<std::string>& prompts,
                                     const std::function<void()>& between_passes) const {
  const auto batch = static_cast<int64_t>(prompts.size());
  TokenizedPrompts out;
  out.ids = at::full({batch, text_len_}, pad_id_, at::kLong);
  out.mask = at::zeros({batch, text_len_}, at::kLong);
  auto ids = out.ids.accessor<int64_t, 2>();
  auto mask = out.mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const std::vector<int> p = pieces(clean_prompt(prompts[static_cast<size_t>(b)], between_passes));
    // Truncation keeps room for </s>.
    const int64_t kept = std::min<int64_t>(static_cast<int64_t>(p.size()), text_len_ - 1);
    for (int64_t i = 0; i < kept; ++i) ids[b][i] = p[static_cast<size_t>(i)];
    ids[b][kept] = eos_id_;
    for (int64_t i = 0; i <= kept; ++i) mask[b][i] = 1;
    out.lengths.push_back(kept + 1);
    out.truncated.push_back(static_cast<int64_t>(p.size()) > kept);
  }
  return out;
}

}  // namespace wan
