// libFuzzer target: the zip container's directory alone (zip_directory.cpp, the check load_pth
// runs before libtorch's reader opens anything), at the speed of our own code: every input gets
// wan::Error, or a directory whose records all lie inside the file, whose stored records are as
// large unpacked as packed, and whose names are found again.
#include <cstdint>
#include <cstdlib>

#include "models/common/error.h"
#include "models/weights/zip_directory.h"
#include "tests/fuzz/fuzz_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = wan::fuzz::write_input_file("fuzz_zip_directory", ".zip", data, size);
  try {
    const wan::ZipDirectory directory(path);
    for (const wan::ZipEntry& e : directory.entries()) {
      if (e.local_header_offset > directory.file_size() ||
          e.compressed_size > directory.file_size() - e.local_header_offset)
        std::abort();
      if (e.method == 0 && e.compressed_size != e.uncompressed_size) std::abort();
      if (directory.find(e.name) == nullptr) std::abort();
    }
  } catch (const wan::Error&) {
  }
  return 0;
}
