// libFuzzer target: a whole torch.save file, zip container included (libtorch's
// PyTorchStreamReader: local and central headers, record names and sizes, the
// byteorder record), then the data.pkl pickle and every storage it names:
// load_pth must reject any file with wan::Error and never crash, hang, leak or
// allocate far beyond the file's size. (pth_tensor_names reads the same
// records without the storages.)
#include <cstdint>

#include "models/common/error.h"
#include "models/weights/pth_file.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = wan::fuzz::write_input_file("fuzz_pth_zip", ".pth", data, size);
  try {
    wan::fuzz::touch_every_byte(wan::load_pth(path));
  } catch (const wan::Error&) {
  }
  return 0;
}
