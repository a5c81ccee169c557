// libFuzzer target: the umT5 prompt cleaning (ftfy's fix_text, html.unescape
// twice, whitespace folding) and both HTML unescapers must take any input,
// rejecting only invalid UTF-8 with wan::Error, and never crash, leak or
// take long (run with -timeout=2: a prompt is short, so any slow path is a
// finding).
#include <cstdint>
#include <string>

#include "models/common/error.h"
#include "models/t5/html_unescape.h"
#include "models/t5/text_cleaning.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)wan::clean_prompt(text);
  } catch (const wan::Error&) {
  }
  // The unescapers alone, on the bytes as Latin-1 code points (clean_prompt runs fix_text first).
  const std::u32string points(data, data + size);
  (void)wan::html_unescape(points);
  (void)wan::ftfy_unescape_html(points);
  return 0;
}
