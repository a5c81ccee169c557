// The prompt cleaning Wan applies before umT5 tokenisation (HuggingfaceTokenizer
// with clean='whitespace'): ftfy.fix_text, html.unescape twice, strip, then
// every run of Unicode whitespace becomes one space.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace wan {

// The longest prompt cleaned, in bytes. umT5 reads only the first 511 tokens
// (a few kB of text); far longer input is a mistake or an attack, refused
// before it costs seconds of cleaning: some text takes ftfy's loop a round per
// nesting level, and glib's NFC is quadratic in runs of composed characters.
constexpr size_t kMaxPromptBytes = size_t{64} << 10;

// Throws wan::Error "<field>: N bytes, more than ..." when `prompt` is longer than kMaxPromptBytes.
void check_prompt_length(const std::string& prompt, const std::string& field);

// Cleans one UTF-8 prompt. Throws wan::Error if `text` is not valid UTF-8 or
// longer than kMaxPromptBytes. `between_passes` (if set) runs between the
// linear passes over the prompt (several per line); an exception it throws
// stops the cleaning there (cancellation: some prompts take many passes).
std::string clean_prompt(const std::string& text, const std::function<void()>& between_passes = {});

// The ftfy.fix_text part alone (default TextFixerConfig), on code points.
std::u32string fix_text(const std::u32string& text, const std::function<void()>& between_passes = {});

}  // namespace wan
