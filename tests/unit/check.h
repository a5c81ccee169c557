// Minimal assertions for the unit tests: each failure prints where and why;
// main returns the failure count through check_exit().
#pragma once
#include <cstdio>
#include <exception>
#include <string>

namespace wan::test {

inline int& failures() {
  static int n = 0;
  return n;
}

inline void report(bool ok, const char* expr, const char* file, int line, const std::string& detail = "") {
  if (ok) return;
  ++failures();
  std::fprintf(stderr, "%s:%d: FAILED: %s %s\n", file, line, expr, detail.c_str());
}

// Runs `fn`, which must throw an exception whose message contains `needle`.
template <typename Fn>
void expect_error(Fn&& fn, const std::string& needle, const char* file, int line) {
  try {
    fn();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    report(what.find(needle) != std::string::npos, "error message contains", file, line,
           "'" + needle + "' (got: " + what + ")");
    return;
  }
  report(false, "expected an error containing", file, line, "'" + needle + "' (no error)");
}

inline int check_exit(const char* name) {
  std::printf("%s: %d failure(s)\n", name, failures());
  return failures() ? 1 : 0;
}

}  // namespace wan::test

#define EXPECT(expr) ::wan::test::report((expr), #expr, __FILE__, __LINE__)
#define EXPECT_MSG(expr, msg) ::wan::test::report((expr), #expr, __FILE__, __LINE__, (msg))
#define EXPECT_ERROR(stmt, needle) ::wan::test::expect_error([&] { stmt; }, (needle), __FILE__, __LINE__)
