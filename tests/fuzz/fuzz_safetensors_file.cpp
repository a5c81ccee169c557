// libFuzzer target: the whole safetensors open (header length, JSON header,
// data offsets, dtypes and shapes, then every tensor made from the mapping)
// must reject any file with wan::Error and never crash, hang, leak or read
// outside the file. The input is written to a temporary file, since the
// reader maps a path.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/ATen.h>

#include "models/common/error.h"
#include "models/weights/safetensors.h"

namespace {

std::string temp_path() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/fuzz_safetensors_file." + std::to_string(getpid()) +
         ".safetensors";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = temp_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  try {
    const wan::TensorMap tensors = wan::load_safetensors(path);
    // Touch every byte of every tensor: a view past the end of the mapping faults here.
    uint64_t sum = 0;
    for (const auto& [name, t] : tensors) {
      const at::Tensor c = t.contiguous();
      const auto* p = static_cast<const uint8_t*>(c.data_ptr());
      for (size_t i = 0, n = c.nbytes(); i < n; ++i) sum += p[i];
    }
    if (sum == 1) std::fputc(0, stderr);  // keeps the loop
  } catch (const wan::Error&) {
  }
  return 0;
}
