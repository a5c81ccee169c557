#include "models/t5/html_unescape.h"

#include <cstdint>
#include <unordered_map>

#include "models/t5/html_entities.h"
#include "models/t5/unicode_text.h"

namespace wan {

namespace {

using EntityMap = std::unordered_map<std::u32string, std::u32string>;

std::u32string ascii(const char* s) { return std::u32string(s, s + std::char_traits<char>::length(s)); }

const EntityMap& html5_map() {
  static const EntityMap map = [] {
    EntityMap m;
    for (const auto& e : html5_entities()) m.emplace(ascii(e.name), decode_utf8(e.utf8, "HTML entity table"));
    return m;
  }();
  return map;
}

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_ascii_alnum(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool is_noncharacter_reference(char32_t num) {
  // HTML5 drops references to these code points (C0/C1 controls but tab, LF,
  // FF, CR and space; U+FDD0..U+FDEF; U+xFFFE and U+xFFFF of every plane).
  if ((num >= 0x1 && num <= 0x8) || num == 0xB || (num >= 0xE && num <= 0x1F) || (num >= 0x7F && num <= 0x9F))
    return true;
  if (num >= 0xFDD0 && num <= 0xFDEF) return true;
  return (num & 0xFFFE) == 0xFFFE;
}

// The text for a numeric reference whose digits are text[begin, end).
std::u32string numeric_reference(const std::u32string& text, size_t begin, size_t end, int base) {
  constexpr uint64_t kTooLarge = 0x110000;
  uint64_t num = 0;
  for (size_t i = begin; i < end; ++i) {
    const char32_t c = text[i];
    const uint64_t digit = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
    num = std::min<uint64_t>(num * base + digit, kTooLarge);
  }
  if (num == 0) return U"\uFFFD";
  if (num == 0x0D) return U"\r";
  if (num >= 0x80 && num <= 0x9F) return std::u32string(1, windows1252_c1(static_cast<char32_t>(num)));
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return U"\uFFFD";
  if (is_noncharacter_reference(static_cast<char32_t>(num))) return U"";
  return std::u32string(1, static_cast<char32_t>(num));
}

bool ends_named_reference(char32_t c) {
  return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';';
}

// The upper-cased names ftfy also decodes: "&EACUTE;" for "&eacute;", unless
// html.unescape already gives the upper-case spelling a meaning.
const EntityMap& ftfy_entity_map() {
  static const EntityMap map = [] {
    EntityMap m;
    for (const auto& [name, value] : html5_map()) {
      if (name.empty() || name.back() != U';') continue;
      m.emplace(U"&" + name, value);
      std::u32string upper = name;
      bool lower_case = true;
      for (auto& c : upper) {
        if (c >= 'A' && c <= 'Z') lower_case = false;
        if (c >= 'a' && c <= 'z') c -= 0x20;
      }
      if (!lower_case) continue;
      const std::u32string reference = U"&" + upper;
      if (html_unescape(reference) == reference) m.emplace(reference, to_upper(value));
    }
    return m;
  }();
  return map;
}

}  // namespace

char32_t windows1252_c1(char32_t c) {
  static const char32_t table[32] = {
      0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
  };
  return (c >= 0x80 && c <= 0x9F) ? table[c - 0x80] : c;
}

std::u32string html_unescape(const std::u32string& text) {
  const EntityMap& entities = html5_map();
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != U'&' || i + 1 >= text.size()) {
      out += text[i++];
      continue;
    }
    const size_t start = i + 1;
    if (text[start] == U'#') {
      const bool hex = start + 1 < text.size() && (text[start + 1] == U'x' || text[start + 1] == U'X');
      const size_t digits = start + (hex ? 2 : 1);
      size_t end = digits;
      while (end < text.size() && (hex ? is_hex_digit(text[end]) : is_digit(text[end]))) ++end;
      if (end == digits) {  // "&#" without digits is no reference
        out += text[i++];
        continue;
      }
      out += numeric_reference(text, digits, end, hex ? 16 : 10);
      i = end + (end < text.size() && text[end] == U';');
      continue;
    }
    size_t end = start;
    while (end < text.size() && end - start < 32 && !ends_named_reference(text[end])) ++end;
    if (end == start) {
      out += text[i++];
      continue;
    }
    if (end < text.size() && text[end] == U';') ++end;
    const std::u32string name = text.substr(start, end - start);
    i = end;
    if (auto it = entities.find(name); it != entities.end()) {
      out += it->second;
      continue;
    }
    // The longest known prefix (of at least two characters) is decoded.
    bool decoded = false;
    for (size_t len = name.size() - 1; len >= 2; --len) {
      if (auto it = entities.find(name.substr(0, len)); it != entities.end()) {
        out += it->second;
        out += name.substr(len);
        decoded = true;
        break;
      }
    }
    if (!decoded) out += U"&" + name;
  }
  return out;
}

std::u32string ftfy_decode_reference(const std::u32string& reference) {
  const EntityMap& entities = ftfy_entity_map();
  if (auto it = entities.find(reference); it != entities.end()) return it->second;
  if (reference.size() > 2 && reference[1] == U'#') {
    // Numeric: only when the whole reference, ';' included, is consumed.
    std::u32string decoded = html_unescape(reference);
    return decoded.find(U';') == std::u32string::npos ? decoded : reference;
  }
  return reference;
}

std::u32string ftfy_unescape_html(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != U'&') {
      out += text[i++];
      continue;
    }
    // "&" "#"? then 1..24 ASCII letters or digits, then ";"
    const size_t body = i + 1 + (i + 1 < text.size() && text[i + 1] == U'#');
    size_t end = body;
    while (end < text.size() && is_ascii_alnum(text[end])) ++end;
    if (end == body || end - body > 24 || end >= text.size() || text[end] != U';') {
      out += text[i++];
      continue;
    }
    out += ftfy_decode_reference(text.substr(i, end + 1 - i));
    i = end + 1;
  }
  return out;
}

}  // namespace wan
