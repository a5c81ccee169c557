// A SentencePiece model, used through the wan-sentencepiece module (see
// sentencepiece_shim.cpp for why the library is kept at arm's length).
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace wan {

class SentencePieceModel {
 public:
  // Throws wan::Error when the file or the module cannot be loaded.
  explicit SentencePieceModel(const std::string& path);
  ~SentencePieceModel();
  SentencePieceModel(const SentencePieceModel&) = delete;
  SentencePieceModel& operator=(const SentencePieceModel&) = delete;

  std::vector<int> encode(const std::string& text) const;
  // The id of `piece`, or -1 when the vocabulary does not have it.
  int piece_id(const std::string& piece) const;
  int size() const;

  struct Api;  // the module's entry points

 private:
  const Api* api_;
  void* model_ = nullptr;
};

}  // namespace wan
