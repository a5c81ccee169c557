// UTF-8 <-> code points and the Unicode properties the prompt cleaning needs,
// on top of GLib's Unicode tables.
#pragma once
#include <string>

namespace wan {

// Throws wan::Error (naming `what`) when `utf8` is not valid UTF-8.
std::u32string decode_utf8(const std::string& utf8, const std::string& what);
std::string encode_utf8(const std::u32string& text);

std::u32string normalize_nfc(const std::u32string& text);
std::u32string normalize_nfkc(const std::u32string& text);

// Full upper-case mapping (one character may become several: "ß" -> "SS").
std::u32string to_upper(const std::u32string& text);

// The Unicode White_Space property (what `\s` of Python's regex module matches).
bool is_unicode_whitespace(char32_t c);

// What Python's str.isspace() accepts: White_Space plus the separators U+1C..U+1F.
bool is_python_space(char32_t c);

}  // namespace wan
