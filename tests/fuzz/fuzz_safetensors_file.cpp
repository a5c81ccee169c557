// libFuzzer target: the whole safetensors open (header length, JSON header,
// data offsets, dtypes and shapes, then every tensor made from the mapping)
// must reject any file with wan::Error and never crash, hang, leak or read
// outside the file. The input is written to a temporary file, since the
// reader maps a path.
#include <cstdint>

#include "models/common/error.h"
#include "models/weights/safetensors.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = wan::fuzz::write_input_file("fuzz_safetensors_file", ".safetensors", data, size);
  try {
    wan::fuzz::touch_every_byte(wan::load_safetensors(path));
  } catch (const wan::Error&) {
  }
  return 0;
}
