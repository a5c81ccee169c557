// The JSON header of a safetensors file: parsed and validated without libtorch,
// so the parser can be fuzzed on its own.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wan {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // "F32", "BF16", "F16", "F8_E4M3", "I64", "U8", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the start of the data section
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;        // in file order
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// Parses and validates a header: JSON syntax, known dtypes, shape x itemsize ==
// byte size, offsets inside `data_size` bytes and not overlapping. `file` only
// names the file in error messages. Throws wan::Error.
SafetensorsHeader parse_safetensors_header(const char* json, size_t json_size, uint64_t data_size,
                                           const std::string& file);

// Byte size of one element of a safetensors dtype name, 0 if unknown.
size_t safetensors_itemsize(const std::string& dtype);

}  // namespace wan
