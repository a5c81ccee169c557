// The prompt cleaning Wan applies before umT5 tokenisation (HuggingfaceTokenizer
// with clean='whitespace'): ftfy.fix_text, html.unescape twice, strip, then
// every run of Unicode whitespace becomes one space.
#pragma once
#include <string>

namespace wan {

// Cleans one UTF-8 prompt. Throws wan::Error if `text` is not valid UTF-8.
std::string clean_prompt(const std::string& text);

// The ftfy.fix_text part alone (default TextFixerConfig), on code points.
std::u32string fix_text(const std::u32string& text);

}  // namespace wan
