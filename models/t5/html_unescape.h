// Decoding of HTML character references, in the two flavours the umT5 prompt
// cleaning applies: Python's html.unescape and ftfy's stricter unescape_html.
#pragma once
#include <string>

namespace wan {

// Python's html.unescape: named references with or without ';' (longest
// known prefix wins), decimal and hex references with the HTML5 replacements
// for invalid code points.
std::u32string html_unescape(const std::u32string& text);

// ftfy's unescape_html: only "&name;" / "&#...;" with the semicolon, plus
// upper-cased names of lower-case entities ("&EACUTE;" -> "É").
std::u32string ftfy_unescape_html(const std::u32string& text);

// ftfy's decoding of one reference "&name;" / "&#...;" as ftfy_unescape_html
// matches it: the reference itself where ftfy keeps it.
std::u32string ftfy_decode_reference(const std::u32string& reference);

// The Windows-1252 character for a C1 control code 0x80..0x9F (bytes that
// cp1252 leaves undefined map to themselves, as browsers and ftfy do).
char32_t windows1252_c1(char32_t c);

}  // namespace wan
