#include "models/common/error.h"

#include <c10/util/Exception.h>

namespace wan {

std::string one_line_message(const std::exception& e) {
  // c10 errors carry libtorch's whole C++ backtrace in what(); users need the message.
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& ch : text)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return text;
}

}  // namespace wan
