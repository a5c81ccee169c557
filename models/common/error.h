// The one exception type of the library: its message is meant for the user
// (what file, what tensor, what was expected), so callers can show it as is.
#pragma once
#include <exception>
#include <stdexcept>
#include <string>

namespace wan {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Any exception's message on one line, without the C++ backtrace libtorch's errors append.
std::string one_line_message(const std::exception& e);

}  // namespace wan
