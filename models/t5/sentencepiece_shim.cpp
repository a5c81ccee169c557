// A C interface to libsentencepiece, built as its own loadable module.
//
// Debian's libsentencepiece carries a private copy of protobuf-lite whose
// symbols it exports; in a process that also has libprotobuf (libtorch needs
// it) the two copies interpose on each other and crash at start-up. This
// module is the only object linked to libsentencepiece, and it is opened with
// RTLD_LOCAL | RTLD_DEEPBIND (sentencepiece_model.cpp), which keeps each
// protobuf copy bound to itself.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>

namespace {

void set_error(char* error, size_t size, const std::string& message) {
  if (size == 0) return;
  std::strncpy(error, message.c_str(), size - 1);
  error[size - 1] = '\0';
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* wan_spm_load(const char* path, char* error, size_t error_size) {
  auto* sp = new sentencepiece::SentencePieceProcessor();
  const auto status = sp->Load(path);
  if (!status.ok()) {
    set_error(error, error_size, status.ToString());
    delete sp;
    return nullptr;
  }
  return sp;
}

__attribute__((visibility("default"))) void wan_spm_free(void* model) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(model);
}

// Writes up to `capacity` ids; returns the full count, or -1 on error.
__attribute__((visibility("default"))) long wan_spm_encode(void* model, const char* text, size_t length, int* ids,
                                                           size_t capacity, char* error, size_t error_size) {
  std::vector<int> out;
  const auto status =
      static_cast<sentencepiece::SentencePieceProcessor*>(model)->Encode(absl::string_view(text, length), &out);
  if (!status.ok()) {
    set_error(error, error_size, status.ToString());
    return -1;
  }
  for (size_t i = 0; i < out.size() && i < capacity; ++i) ids[i] = out[i];
  return static_cast<long>(out.size());
}

__attribute__((visibility("default"))) int wan_spm_piece_to_id(void* model, const char* piece) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(model)->PieceToId(piece);
}

__attribute__((visibility("default"))) int wan_spm_unk_id(void* model) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(model)->unk_id();
}

__attribute__((visibility("default"))) int wan_spm_piece_size(void* model) {
  return static_cast<sentencepiece::SentencePieceProcessor*>(model)->GetPieceSize();
}

}  // extern "C"
