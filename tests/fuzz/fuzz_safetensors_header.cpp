// libFuzzer target: the safetensors header parser must reject any input with
// wan::Error and never crash, hang or read out of bounds.
#include <cstdint>
#include <cstring>

#include "models/common/error.h"
#include "models/weights/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t data_size = 0;
  std::memcpy(&data_size, data, 8);  // first 8 bytes choose the data-section size
  try {
    wan::parse_safetensors_header(reinterpret_cast<const char*>(data + 8), size - 8, data_size % (1u << 20), "fuzz");
  } catch (const wan::Error&) {
  }
  return 0;
}
