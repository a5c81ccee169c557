// Reader for the safetensors format (https://github.com/huggingface/safetensors):
// 8-byte little-endian header length, a JSON header, then raw tensor bytes.
// Files are memory-mapped; tensors alias the mapping wherever dtype and
// alignment allow, so loading a 33 GB checkpoint costs no extra copy.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/weights/safetensors_header.h"
#include "models/weights/tensor_map.h"

namespace wan {

class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  const std::vector<SafetensorsEntry>& entries() const { return header_.entries; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  bool contains(const std::string& name) const;

  // The tensor in its stored dtype on the CPU (F8_E4M3 is widened to float32
  // where the libtorch in use has no float8 type). Aliases the mapping.
  at::Tensor tensor(const std::string& name) const;
  TensorMap tensors() const;

 private:
  SafetensorsFile() = default;
  at::Tensor make_tensor(const SafetensorsEntry& e) const;

  std::string path_;
  SafetensorsHeader header_;
  std::map<std::string, size_t> index_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const char* data_ = nullptr;  // first byte after the header
  std::shared_ptr<void> keepalive_;
};

// All tensors of a single .safetensors file, or of a sharded checkpoint given
// by its `*.safetensors.index.json` (weight_map: tensor name -> shard file).
TensorMap load_safetensors(const std::string& path);

// Writes tensors (made contiguous, on the CPU) to a .safetensors file; used by
// tests and by the demo-checkpoint tool. Supports F32/F16/BF16/F64/I64/I32/U8/BOOL
// (and float8 where libtorch has it). `byte_encoded` maps names of U8 tensors
// that hold one-byte float8 codes to the dtype written ("F8_E4M3", "F8_E5M2"),
// so float8 files can be written with any libtorch.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      const std::map<std::string, std::string>& byte_encoded = {});

}  // namespace wan
