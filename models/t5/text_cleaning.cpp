#include "models/t5/text_cleaning.h"

#include <algorithm>
#include <unordered_map>

#include "models/common/error.h"
#include "models/t5/html_unescape.h"
#include "models/t5/unicode_text.h"

// What is reproduced of ftfy 6.3.1's fix_text (default config): the HTML
// entity step (off from the first line that contains '<'), C1 controls as
// Windows-1252, Latin ligatures, character width, curly quotes, line breaks,
// terminal escapes, control characters and NFC, repeated until nothing
// changes, line by line.
// What is not: ftfy's mojibake repair (fix_encoding: re-decoding text that
// looks like UTF-8 read as Latin-1 / Windows-125x / MacRoman, e.g. "Ã©" ->
// "é", with restore_byte_a0, replace_lossy_sequences and
// decode_inconsistent_utf8). It only changes text that already is mojibake,
// which a prompt typed as UTF-8 is not. The surrogate fix has nothing to do
// on valid UTF-8.

namespace wan {

namespace {

using CharMap = std::unordered_map<char32_t, std::u32string>;

const CharMap& latin_ligatures() {
  static const CharMap map = {
      {U'\u0132', U"IJ"},      {U'\u0133', U"ij"}, {U'\u0149', U"\u02BCn"}, {U'\u01F1', U"DZ"},
      {U'\u01F2', U"Dz"},      {U'\u01F3', U"dz"}, {U'\u01C4', U"D\u017D"}, {U'\u01C5', U"D\u017E"},
      {U'\u01C6', U"d\u017E"}, {U'\u01C7', U"LJ"}, {U'\u01C8', U"Lj"},      {U'\u01C9', U"lj"},
      {U'\u01CA', U"NJ"},      {U'\u01CB', U"Nj"}, {U'\u01CC', U"nj"},      {U'\uFB00', U"ff"},
      {U'\uFB01', U"fi"},      {U'\uFB02', U"fl"}, {U'\uFB03', U"ffi"},     {U'\uFB04', U"ffl"},
      {U'\uFB05', U"\u017Ft"}, {U'\uFB06', U"st"},
  };
  return map;
}

// Half- and full-width forms (U+FF01..U+FFEF) to their NFKC form, and the
// ideographic space to a plain space.
const CharMap& width_map() {
  static const CharMap map = [] {
    CharMap m{{U'\u3000', U" "}};
    for (char32_t c = 0xFF01; c < 0xFFF0; ++c) {
      const std::u32string one(1, c);
      std::u32string standard = normalize_nfkc(one);
      if (standard != one) m.emplace(c, std::move(standard));
    }
    return m;
  }();
  return map;
}

std::u32string translate(const std::u32string& text, const CharMap& map) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    auto it = map.find(c);
    if (it == map.end())
      out += c;
    else
      out += it->second;
  }
  return out;
}

std::u32string fix_c1_controls(std::u32string text) {
  for (auto& c : text) c = windows1252_c1(c);
  return text;
}

std::u32string uncurl_quotes(std::u32string text) {
  for (auto& c : text) {
    if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B))
      c = U'\'';
    else if (c >= 0x201C && c <= 0x201F)
      c = U'"';
  }
  return text;
}

std::u32string fix_line_breaks(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c == U'\r' && i + 1 < text.size() && text[i + 1] == U'\n') continue;  // CRLF -> LF
    out += (c == U'\r' || c == 0x2028 || c == 0x2029 || c == 0x85) ? U'\n' : c;
  }
  return out;
}

// ANSI sequences "ESC [ (digits or ;)* letter".
std::u32string remove_terminal_escapes(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == 0x1B && i + 1 < text.size() && text[i + 1] == U'[') {
      size_t j = i + 2;
      while (j < text.size() && ((text[j] >= U'0' && text[j] <= U'9') || text[j] == U';')) ++j;
      if (j < text.size() && ((text[j] >= U'a' && text[j] <= U'z') || (text[j] >= U'A' && text[j] <= U'Z'))) {
        i = j + 1;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

// Controls without a visible or whitespace effect (tab, LF, FF, CR, C1,
// joiners and bidi marks stay).
bool is_unwanted_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

std::u32string remove_control_chars(std::u32string text) {
  text.erase(std::remove_if(text.begin(), text.end(), is_unwanted_control), text.end());
  return text;
}

bool is_ascii_alnum(char32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// What the character maps of one fix_segment round (C1 controls, ligatures,
// width, quotes) make of c; empty when they leave it.
std::u32string mapped_char(char32_t c) {
  if (const char32_t c1 = windows1252_c1(c); c1 != c) return std::u32string(1, c1);
  if (auto it = latin_ligatures().find(c); it != latin_ligatures().end()) return it->second;
  if (auto it = width_map().find(c); it != width_map().end()) return it->second;
  if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) return U"'";
  if (c >= 0x201C && c <= 0x201F) return U"\"";
  return {};
}

// ftfy_unescape_html and the character maps repeated until neither changes
// anything, in one pass: decoded text is fed back in front of the rest, so
// "&" + "amp;" x n (n rounds of ftfy's loop: quadratic in the text's length) or
// full-width "&" from "&#65286;" resolve as they are read. ftfy's loop reaches
// the same text: entities are ASCII, which the maps never touch, and decoding
// never joins text across a reference that has not been decoded.
std::u32string unescape_and_map(const std::u32string& text) {
  std::u32string out, todo;  // todo: characters still to read, the next one last
  out.reserve(text.size());
  for (char32_t next : text) {
    todo.push_back(next);
    while (!todo.empty()) {
      const char32_t c = todo.back();
      todo.pop_back();
      if (std::u32string m = mapped_char(c); !m.empty()) {
        todo.append(m.rbegin(), m.rend());
        continue;
      }
      out += c;
      if (c != U';') continue;
      // A reference ends here: "&" "#"? 1..24 ASCII letters or digits ";".
      size_t body = out.size() - 1;
      while (body > 0 && out.size() - 1 - body < 25 && is_ascii_alnum(out[body - 1])) --body;
      const size_t length = out.size() - 1 - body;
      if (length == 0 || length > 24 || body == 0) continue;
      size_t amp = body - 1;
      if (out[amp] == U'#' && amp > 0) --amp;
      if (out[amp] != U'&') continue;
      const std::u32string reference = out.substr(amp);
      std::u32string decoded = ftfy_decode_reference(reference);
      if (decoded == reference) continue;
      out.resize(amp);
      todo.append(decoded.rbegin(), decoded.rend());
    }
  }
  return out;
}

// Each step is one linear pass; `between_passes` runs before each.
std::u32string fix_segment(std::u32string text, bool unescape_html, const std::function<void()>& between_passes) {
  const auto pass = [&](auto&& step) {
    if (between_passes) between_passes();
    text = step(std::move(text));
  };
  for (;;) {
    const std::u32string before = text;
    if (unescape_html) pass([](std::u32string t) { return unescape_and_map(t); });
    pass([](std::u32string t) { return fix_c1_controls(std::move(t)); });
    pass([](std::u32string t) { return translate(t, latin_ligatures()); });
    pass([](std::u32string t) { return translate(t, width_map()); });
    pass([](std::u32string t) { return uncurl_quotes(std::move(t)); });
    pass([](std::u32string t) { return fix_line_breaks(t); });
    pass([](std::u32string t) { return remove_terminal_escapes(t); });
    pass([](std::u32string t) { return remove_control_chars(std::move(t)); });
    pass([](std::u32string t) { return normalize_nfc(t); });
    if (text == before) return text;
  }
}

std::u32string strip(const std::u32string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && is_python_space(text[begin])) ++begin;
  while (end > begin && is_python_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

std::u32string collapse_whitespace(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (!is_unicode_whitespace(text[i])) {
      out += text[i++];
      continue;
    }
    out += U' ';
    while (i < text.size() && is_unicode_whitespace(text[i])) ++i;
  }
  return out;
}

}  // namespace

std::u32string fix_text(const std::u32string& text, const std::function<void()>& between_passes) {
  // ftfy fixes line by line (and at most this many characters at once); once
  // a line contains '<' the text is taken for HTML and entities are kept.
  constexpr size_t kMaxSegment = 1000000;
  std::u32string out;
  bool unescape_html = true;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find(U'\n', pos);
    end = end == std::u32string::npos ? text.size() : end + 1;
    end = std::min(end, pos + kMaxSegment);
    const std::u32string segment = text.substr(pos, end - pos);
    if (segment.find(U'<') != std::u32string::npos) unescape_html = false;
    out += fix_segment(segment, unescape_html, between_passes);
    pos = end;
  }
  return out;
}

void check_prompt_length(const std::string& prompt, const std::string& field) {
  if (prompt.size() > kMaxPromptBytes)
    throw Error(field + ": " + std::to_string(prompt.size()) + " bytes, more than the " +
                std::to_string(kMaxPromptBytes) + " accepted (umT5 reads only the first 511 tokens, a few kB of text)");
}

std::string clean_prompt(const std::string& text, const std::function<void()>& between_passes) {
  check_prompt_length(text, "the prompt");
  const auto pass = [&](std::u32string t, auto&& step) {
    if (between_passes) between_passes();
    return step(t);
  };
  std::u32string t = fix_text(decode_utf8(text, "the prompt"), between_passes);
  t = pass(std::move(t), html_unescape);
  t = pass(std::move(t), html_unescape);
  t = strip(t);
  return encode_utf8(strip(pass(std::move(t), collapse_whitespace)));
}

}  // namespace wan
