// The prompt cleaning in front of umT5 (ftfy.fix_text, html.unescape twice,
// whitespace collapsing). Expected values are what the Python reference
// (ftfy 6.3.1 + html + regex) gives for each input.
#include <string>

#include "models/common/error.h"
#include "models/t5/text_cleaning.h"
#include "tests/unit/check.h"

namespace {

void expect_clean(const std::string& input, const std::string& expected) {
  const std::string got = wan::clean_prompt(input);
  EXPECT_MSG(got == expected, "clean(\"" + input + "\") = \"" + got + "\", expected \"" + expected + "\"");
}

void character_width() {
  expect_clean(
      "\xEF\xBC\xAC\xEF\xBC\xAF\xEF\xBC\xB5\xEF\xBC\xA4\xE3\x80\x80\xEF\xBC\xAE\xEF\xBC\xAF\xEF\xBC\xA9\xEF\xBC\xB3\xEF"
      "\xBC\xA5\xEF\xBC\xB3",
      "LOUD NOISES");  // full-width letters, ideographic space
  expect_clean("\xEF\xBC\xB5\xEF\xBE\x80\xEF\xBD\xB0\xEF\xBE\x9D",
               "U\xE3\x82\xBF\xE3\x83\xBC\xE3\x83\xB3");     // Ｕﾀｰﾝ -> Uターン
  expect_clean("\xEF\xBD\xB6\xEF\xBE\x9E", "\xE3\x82\xAC");  // ｶﾞ -> ガ (voiced mark composed by NFC)
  // The official Chinese negative prompt's full-width commas; 。 and 、 stay.
  expect_clean("\xE9\x9D\x99\xE6\x80\x81\xEF\xBC\x8C\xE7\x94\xBB\xE4\xBD\x9C\xE3\x80\x82\xE3\x80\x81",
               "\xE9\x9D\x99\xE6\x80\x81,\xE7\x94\xBB\xE4\xBD\x9C\xE3\x80\x82\xE3\x80\x81");
}

void quotes_ligatures_controls() {
  expect_clean("\xE2\x80\x9Chere\xE2\x80\x99s a test\xE2\x80\x9D", "\"here's a test\"");
  expect_clean(
      "\xEF\xAC\x82u\xEF\xAC\x83"
      "e\xEF\xAC\x86",
      "fluffiest");
  expect_clean(
      "a\x01"
      "b\x7f"
      "c",
      "abc");
  expect_clean("\x1b[36;44mblue\x1b[0m", "blue");
  expect_clean(
      "\xC2\x80"
      "100",
      "\xE2\x82\xAC"
      "100");  // C1 control read as Windows-1252
  expect_clean(
      "caf"
      "e\xCC\x81",
      "caf\xC3\xA9");                        // NFC
  expect_clean("\xEF\xBB\xBFtext", "text");  // byte-order mark removed
}

void html_entities() {
  expect_clean("P&eacute;rez", "P\xC3\xA9rez");
  expect_clean("P&EACUTE;REZ", "P\xC3\x89REZ");
  expect_clean("&lt;tag&gt;", "<tag>");
  expect_clean("&amp;amp;lt;", "<");                // ftfy repeats, then html.unescape twice
  expect_clean("fish &amp chips", "fish & chips");  // html.unescape accepts legacy names without ';'
  expect_clean("&notit;", "\xC2\xACit;");           // longest known prefix
  expect_clean("&#65;&#x42;&#0;", "AB\xEF\xBF\xBD");
  expect_clean("&#128;", "\xE2\x82\xAC");
  // Text with '<' is taken for HTML: ftfy keeps entities, html.unescape still decodes them.
  expect_clean("<b>&amp;amp;</b>", "<b>&</b>");
  expect_clean("x &nosuchentity; y", "x &nosuchentity; y");
}

void whitespace() {
  expect_clean(
      "  a \t\n b\xC2\xA0"
      "c\xE3\x80\x80"
      "d\xE2\x80\x83"
      "e\r\n",
      "a b c d e");
  expect_clean("line1\xE2\x80\xA8line2", "line1 line2");
  expect_clean("", "");
  expect_clean(" \t\n ", "");
  expect_clean("&nbsp;x&nbsp;", "x");
}

void invalid_utf8() {
  EXPECT_ERROR(wan::clean_prompt("bad \xff byte"), "UTF-8");
  EXPECT_ERROR(wan::clean_prompt("cut \xe4\xb8"), "UTF-8");
}

}  // namespace

int main() {
  character_width();
  quotes_ligatures_controls();
  html_entities();
  whitespace();
  invalid_utf8();
  return wan::test::check_exit("test-text-cleaning");
}
