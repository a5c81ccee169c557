// wan-parity [--device cuda] [--dtype bfloat16] [--tolerance 2e-2] CASE_DIR: runs
// the component a reference case names (its `kind`) on the device (default cpu),
// in float32 unless told otherwise, and prints each output's relative L2 error
// against the reference. Exits non-zero when any output is past the tolerance
// (default 1e-4), or the kind is unsupported.
#include <cstdio>
#include <exception>
#include <string>

#include <ATen/Context.h>
#include <c10/core/GradMode.h>

#include "models/error.h"
#include "tests/parity/parity_case.h"

int main(int argc, char** argv) {
  std::string device = "cpu", dtype = "float32";
  double tolerance = 1e-4;
  while (argc >= 4 && std::string(argv[1]).rfind("--", 0) == 0) {
    const std::string flag = argv[1], value = argv[2];
    if (flag == "--device") device = value;
    else if (flag == "--dtype") dtype = value;
    else if (flag == "--tolerance") tolerance = std::stod(value);
    else break;
    argv += 2, argc -= 2;
  }
  if (argc != 2 || (dtype != "float32" && dtype != "bfloat16")) {
    std::fprintf(stderr, "usage: wan-parity [--device cpu|cuda[:N]] [--dtype float32|bfloat16] [--tolerance X] CASE_DIR\n");
    return 2;
  }
  try {
    c10::AutoGradMode no_grad(false);
    // The reference is exact float32: no TF32 in cuBLAS or cuDNN on the GPU.
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
    wan::parity::ParityCase c(argv[1], at::Device(device), dtype == "bfloat16" ? at::kBFloat16 : at::kFloat);
    auto runner = wan::parity::find_runner(c.kind());
    if (!runner) {
      std::string kinds;
      for (const auto& k : wan::parity::known_kinds()) kinds += " " + k;
      std::fprintf(stderr, "wan-parity: kind '%s' of %s is not supported (supported:%s)\n", c.kind().c_str(), argv[1],
                   kinds.c_str());
      return 2;
    }
    std::printf("case %s (kind %s)\n", argv[1], c.kind().c_str());
    wan::parity::ParityReport report(tolerance);
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
