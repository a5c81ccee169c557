// wan-parity [--device cuda] CASE_DIR: runs the component a reference case names
// (its `kind`) on the device (default cpu), in float32, and prints each output's
// relative L2 error against the reference. Exits non-zero when any output is
// past the tolerance, or the kind is unsupported.
#include <cstdio>
#include <exception>
#include <string>

#include <ATen/Context.h>
#include <c10/core/GradMode.h>

#include "models/error.h"
#include "tests/parity/parity_case.h"

int main(int argc, char** argv) {
  std::string device = "cpu";
  if (argc == 4 && std::string(argv[1]) == "--device") {
    device = argv[2];
    argv += 2, argc -= 2;
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: wan-parity [--device cpu|cuda[:N]] CASE_DIR\n");
    return 2;
  }
  try {
    c10::AutoGradMode no_grad(false);
    // The reference is exact float32: no TF32 in cuBLAS or cuDNN on the GPU.
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
    wan::parity::ParityCase c(argv[1], at::Device(device));
    auto runner = wan::parity::find_runner(c.kind());
    if (!runner) {
      std::string kinds;
      for (const auto& k : wan::parity::known_kinds()) kinds += " " + k;
      std::fprintf(stderr, "wan-parity: kind '%s' of %s is not supported (supported:%s)\n", c.kind().c_str(), argv[1],
                   kinds.c_str());
      return 2;
    }
    std::printf("case %s (kind %s)\n", argv[1], c.kind().c_str());
    wan::parity::ParityReport report;
    runner(c, report);
    if (report.count() == 0) {
      std::fprintf(stderr, "wan-parity: nothing was compared\n");
      return 1;
    }
    std::printf("%d outputs, %d failed\n", report.count(), report.failures());
    return report.failures() ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wan-parity: %s\n", e.what());
    return 1;
  }
}
