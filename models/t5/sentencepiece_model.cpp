#include "models/t5/sentencepiece_model.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>

#include "models/common/error.h"

namespace wan {

struct SentencePieceModel::Api {
  void* (*load)(const char*, char*, size_t);
  void (*free)(void*);
  long (*encode)(void*, const char*, size_t, int*, size_t, char*, size_t);
  int (*piece_to_id)(void*, const char*);
  int (*unk_id)(void*);
  int (*piece_size)(void*);
};

namespace {

// The module next to the build tree, then where `meson install` puts it;
// WAN_SENTENCEPIECE_MODULE overrides both.
std::vector<std::string> module_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("WAN_SENTENCEPIECE_MODULE")) out.emplace_back(env);
  out.emplace_back(WAN_SENTENCEPIECE_MODULE_BUILT);
  out.emplace_back(WAN_SENTENCEPIECE_MODULE_INSTALLED);
  return out;
}

template <typename Fn>
void resolve(void* handle, const char* name, Fn* fn) {
  *fn = reinterpret_cast<Fn>(dlsym(handle, name));
  if (!*fn) throw Error(std::string("the wan-sentencepiece module lacks ") + name);
}

const SentencePieceModel::Api& load_api() {
  static const SentencePieceModel::Api api = [] {
    std::string tried;
    void* handle = nullptr;
    for (const auto& path : module_candidates()) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) {
        tried += "\n  " + path + " (absent)";
        continue;
      }
      handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (handle) break;
      tried += "\n  " + path + " (" + dlerror() + ")";
    }
    if (!handle) throw Error("cannot load the wan-sentencepiece module needed by the umT5 tokenizer; tried:" + tried);
    SentencePieceModel::Api a{};
    resolve(handle, "wan_spm_load", &a.load);
    resolve(handle, "wan_spm_free", &a.free);
    resolve(handle, "wan_spm_encode", &a.encode);
    resolve(handle, "wan_spm_piece_to_id", &a.piece_to_id);
    resolve(handle, "wan_spm_unk_id", &a.unk_id);
    resolve(handle, "wan_spm_piece_size", &a.piece_size);
    return a;  // the module stays loaded for the life of the process
  }();
  return api;
}

}  // namespace

SentencePieceModel::SentencePieceModel(const std::string& path) : api_(&load_api()) {
  char error[512] = {0};
  model_ = api_->load(path.c_str(), error, sizeof error);
  if (!model_) throw Error("cannot read the SentencePiece model " + path + ": " + error);
}

SentencePieceModel::~SentencePieceModel() { api_->free(model_); }

std::vector<int> SentencePieceModel::encode(const std::string& text) const {
  char error[512] = {0};
  std::vector<int> ids(text.size() + 16);
  long n = api_->encode(model_, text.data(), text.size(), ids.data(), ids.size(), error, sizeof error);
  if (n > static_cast<long>(ids.size())) {  // more pieces than bytes: only with odd models
    ids.resize(static_cast<size_t>(n));
    n = api_->encode(model_, text.data(), text.size(), ids.data(), ids.size(), error, sizeof error);
  }
  if (n < 0) throw Error(std::string("SentencePiece failed on a prompt: ") + error);
  ids.resize(static_cast<size_t>(n));
  return ids;
}

int SentencePieceModel::piece_id(const std::string& piece) const {
  const int id = api_->piece_to_id(model_, piece.c_str());
  // Unknown pieces map to <unk>; only "<unk>" itself really is that id.
  return id == api_->unk_id(model_) && piece != "<unk>" ? -1 : id;
}

int SentencePieceModel::size() const { return api_->piece_size(model_); }

}  // namespace wan
