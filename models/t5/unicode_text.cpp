#include "models/t5/unicode_text.h"

#include <glib.h>

#include <memory>

#include "models/common/error.h"

namespace wan {

namespace {

struct GFreeDeleter {
  void operator()(void* p) const { g_free(p); }
};

std::u32string from_ucs4(gunichar* chars, glong n) {
  std::unique_ptr<gunichar, GFreeDeleter> owner(chars);
  return std::u32string(reinterpret_cast<const char32_t*>(chars), static_cast<size_t>(n));
}

std::u32string normalize(const std::u32string& text, GNormalizeMode mode) {
  const std::string utf8 = encode_utf8(text);
  std::unique_ptr<gchar, GFreeDeleter> normalized(
      g_utf8_normalize(utf8.data(), static_cast<gssize>(utf8.size()), mode));
  if (!normalized) throw Error("Unicode normalization failed on an invalid string");
  glong n = 0;
  gunichar* chars = g_utf8_to_ucs4_fast(normalized.get(), -1, &n);
  return from_ucs4(chars, n);
}

}  // namespace

std::u32string decode_utf8(const std::string& utf8, const std::string& what) {
  const gchar* end = nullptr;
  if (!g_utf8_validate(utf8.data(), static_cast<gssize>(utf8.size()), &end))
    throw Error(what + " is not valid UTF-8 (bad byte at offset " + std::to_string(end - utf8.data()) +
                "); give the text as UTF-8");
  glong n = 0;
  gunichar* chars = g_utf8_to_ucs4_fast(utf8.data(), static_cast<glong>(utf8.size()), &n);
  return from_ucs4(chars, n);
}

std::string encode_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    gchar buf[6];
    const gint n = g_unichar_to_utf8(static_cast<gunichar>(c), buf);
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::u32string normalize_nfc(const std::u32string& text) { return normalize(text, G_NORMALIZE_NFC); }

std::u32string normalize_nfkc(const std::u32string& text) { return normalize(text, G_NORMALIZE_NFKC); }

std::u32string to_upper(const std::u32string& text) {
  const std::string utf8 = encode_utf8(text);
  std::unique_ptr<gchar, GFreeDeleter> upper(g_utf8_strup(utf8.data(), static_cast<gssize>(utf8.size())));
  glong n = 0;
  gunichar* chars = g_utf8_to_ucs4_fast(upper.get(), -1, &n);
  return from_ucs4(chars, n);
}

bool is_unicode_whitespace(char32_t c) {
  // g_unichar_isspace covers the space/line/paragraph separators and \t \n \r \f;
  // White_Space also has the vertical tab and NEXT LINE.
  return g_unichar_isspace(static_cast<gunichar>(c)) || c == 0x0B || c == 0x85;
}

bool is_python_space(char32_t c) { return is_unicode_whitespace(c) || (c >= 0x1C && c <= 0x1F); }

}  // namespace wan
