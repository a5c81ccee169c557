// wan-parity [--device cuda] [--dtype bfloat16] [--tolerance 2e-2] [--lora-mode runtime] CASE_DIR: runs
// the component a reference case names (its `kind`) on the device (default cpu),
// in float32 unless told otherwise, and prints each output's relative L2 error
// against the reference. Exits non-zero when any output is past the tolerance
// (default 1e-4), or the kind is unsupported. Any error, or a crash, is one line naming
// the case and the problem, with exit status 2.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include <unistd.h>

#include <ATen/Context.h>
#include <c10/core/GradMode.h>

#include "models/common/error.h"
#include "tests/parity/parity_case.h"

namespace {

std::string case_dir = "?";

// A crash in a runner is a failed case with its name, not a core dump: one line, then
// the exit status every other problem gets. Only async-signal-safe calls in here.
void on_fatal_signal(int sig) {
  const char* what = sig == SIGSEGV  ? "segmentation fault"
                     : sig == SIGBUS ? "bus error"
                     : sig == SIGFPE ? "arithmetic exception"
                     : sig == SIGILL ? "illegal instruction"
                                     : "abort";
  const char* parts[] = {"wan-parity: ", case_dir.c_str(), ": crashed (", what, ")\n"};
  for (const char* p : parts) (void)!write(STDERR_FILENO, p, std::strlen(p));
  _exit(2);
}

// An exception no runner caught (thrown on another thread, or through noexcept).
[[noreturn]] void on_terminate() {
  std::string why = "terminated";
  if (const std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      why = wan::one_line_message(ex);
    } catch (...) {
      why = "an exception of unknown type";
    }
  }
  std::fprintf(stderr, "wan-parity: %s: %s\n", case_dir.c_str(), why.c_str());
  std::fflush(stderr);
  _exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string device = "cpu", dtype = "float32", lora_mode = "merge";
  double tolerance = 1e-4;
  bool usable = true;
  while (argc >= 4 && std::string(argv[1]).rfind("--", 0) == 0) {
    const std::string flag = argv[1], value = argv[2];
    if (flag == "--device")
      device = value;
    else if (flag == "--dtype")
      dtype = value;
    else if (flag == "--lora-mode")
      lora_mode = value;
    else if (flag == "--tolerance") {
      char* end = nullptr;
      tolerance = std::strtod(value.c_str(), &end);
      usable = usable && end != value.c_str() && *end == '\0' && tolerance > 0;
    } else
      break;
    argv += 2, argc -= 2;
  }
  if (!usable || argc != 2 || (dtype != "float32" && dtype != "bfloat16") ||
      (lora_mode != "merge" && lora_mode != "runtime")) {
    std::fprintf(stderr,
                 "usage: wan-parity [--device cpu|cuda[:N]] [--dtype float32|bfloat16] [--tolerance X] "
                 "[--lora-mode merge|runtime] CASE_DIR\n");
    return 2;
  }
  case_dir = argv[1];
  std::set_terminate(on_terminate);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, on_fatal_signal);
  try {
    c10::AutoGradMode no_grad(false);
    // The reference is exact float32: no TF32 in cuBLAS or cuDNN on the GPU.
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
    wan::parity::ParityCase c(argv[1], at::Device(device), dtype == "bfloat16" ? at::kBFloat16 : at::kFloat);
    c.set_option("lora-mode", lora_mode);
    auto runner = wan::parity::find_runner(c.kind());
    if (!runner) {
      std::string kinds;
      for (const auto& k : wan::parity::known_kinds()) kinds += " " + k;
      std::fprintf(stderr, "wan-parity: %s: kind '%s' is not supported (supported:%s)\n", argv[1], c.kind().c_str(),
                   kinds.c_str());
      return 2;
    }
    std::printf("case %s (kind %s)\n", argv[1], c.kind().c_str());
    wan::parity::ParityReport report(tolerance);
    runner(c, report);
    if (report.count() == 0) {
      std::fprintf(stderr, "wan-parity: %s: nothing was compared\n", argv[1]);
      return 1;
    }
    std::printf("%d outputs, %d failed\n", report.count(), report.failures());
    return report.failures() ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wan-parity: %s: %s\n", argv[1], wan::one_line_message(e).c_str());
    return 2;
  }
}
