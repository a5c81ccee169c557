// Helpers of the fuzz targets that read whole files: the input goes to a
// temporary file (the readers open paths), and the tensors read back are
// touched byte by byte, so that a view past the end of its data faults.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/ATen.h>

#include "models/weights/tensor_map.h"

namespace wan::fuzz {

// $TMPDIR/<stem>.<pid><extension> holding the input (the same path each call).
inline std::string write_input_file(const std::string& stem, const std::string& extension, const uint8_t* data,
                                    size_t size) {
  const char* dir = std::getenv("TMPDIR");
  const std::string path =
      std::string(dir && *dir ? dir : "/tmp") + "/" + stem + "." + std::to_string(getpid()) + extension;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

inline void touch_every_byte(const TensorMap& tensors) {
  uint64_t sum = 0;
  for (const auto& [name, t] : tensors) {
    const at::Tensor c = t.contiguous();
    const auto* p = static_cast<const uint8_t*>(c.data_ptr());
    for (size_t i = 0, n = c.nbytes(); i < n; ++i) sum += p[i];
  }
  if (sum == 1) std::fputc(0, stderr);  // keeps the loop
}

}  // namespace wan::fuzz
