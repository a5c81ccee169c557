// The prompt cleaning in front of umT5 (ftfy.fix_text, html.unescape twice,
// whitespace collapsing). Expected values are what the Python reference
// (ftfy 6.3.1 + html + regex) gives for each input.
#include <algorithm>
#include <chrono>
#include <random>
#include <string>

#include "models/common/error.h"
#include "models/t5/html_unescape.h"
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

double seconds_to_clean(const std::string& input, std::string* cleaned) {
  const auto start = std::chrono::steady_clock::now();
  *cleaned = wan::clean_prompt(input);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Entities that decode into further entities: ftfy's loop peels one level
// per round over the whole text (100 kB of "&" + "amp;" x n took 45 s, and a
// stop could not interrupt it); cleaning is linear now (shown on the longest
// prompt accepted).
void nested_entities_clean_in_linear_time() {
  std::string amp = "&";
  while (amp.size() + 4 <= wan::kMaxPromptBytes) amp += "amp;";
  std::string cleaned;
  double s = seconds_to_clean(amp, &cleaned);
  EXPECT_MSG(cleaned == "&", "\"&\" + \"amp;\" x n cleaned to " + std::to_string(cleaned.size()) + " bytes");
  EXPECT_MSG(s < 1.0, "64 kB of \"&\" + \"amp;\" x n took " + std::to_string(s) + " s to clean");

  // Full-width "&" (U+FF06) decoded, made ASCII by the width fix, then read with the next "#65286;".
  std::string wide = "&#65286;";
  while (wide.size() + 7 <= wan::kMaxPromptBytes) wide += "#65286;";
  s = seconds_to_clean(wide, &cleaned);
  EXPECT_MSG(cleaned == "&", "\"&#65286;\" + \"#65286;\" x n cleaned to " + std::to_string(cleaned.size()) + " bytes");
  EXPECT_MSG(s < 1.0, "64 kB of \"&#65286;\" + \"#65286;\" x n took " + std::to_string(s) + " s to clean");

  expect_clean("&amp;&#65286;amp;", "&&");
  expect_clean("&amp;\xEF\xBD\x81mp;", "&");  // "&amp;" then a full-width a
}

// The one-pass decoding agrees with ftfy's round by round loop (decode every
// reference, then the width fix, until nothing changes) on random text made
// of reference pieces, full-width ASCII and '<'.
void one_pass_matches_the_round_loop() {
  const std::u32string alphabet = U"&#;ampltxX3689<\uFF06\uFF03\uFF1B\uFF41\uFF4D";
  const auto rounds = [](std::u32string t) {
    for (;;) {
      std::u32string next = wan::ftfy_unescape_html(t);
      for (char32_t& c : next)
        if (c >= 0xFF01 && c <= 0xFF5E) c = c - 0xFF01 + 0x21;
      if (next == t) return t;
      t = next;
    }
  };
  std::mt19937 rng(15);
  int mismatches = 0;
  for (int i = 0; i < 20000 && mismatches < 5; ++i) {
    std::u32string t;
    const size_t n = rng() % 24;
    for (size_t k = 0; k < n; ++k) {
      // Whole pieces as often as single characters, so references form.
      static const std::u32string pieces[] = {U"&amp;", U"amp;", U"&#38;", U"#38;", U"&lt;", U"&#65286;", U"#x26;"};
      if (rng() % 2)
        t += pieces[rng() % 7];
      else
        t += alphabet[rng() % alphabet.size()];
    }
    if (t.find(U'<') != std::u32string::npos) continue;  // ftfy leaves entities of HTML text alone
    const std::u32string expected = rounds(t), got = wan::fix_text(t);
    if (got != expected) {
      ++mismatches;
      EXPECT_MSG(false, "fix_text differs from ftfy's loop on case " + std::to_string(i));
    }
  }
}

// Cleaning runs in passes with the cancellation check between them: a check
// that throws stops it, and the check comes often enough for a stop to be
// prompt on the longest prompt accepted and on text that takes ftfy's loop a
// round per nesting level ("&#" + "&#65279;" + "65279;" decodes to "&#65279;"
// only once its U+FEFF is removed, at the end of the round, and so on).
void cleaning_stops_between_passes() {
  EXPECT_ERROR(wan::clean_prompt(std::string(wan::kMaxPromptBytes + 1, 'a')),
               "the prompt: 65537 bytes, more than the 65536 accepted");
  EXPECT(wan::clean_prompt(std::string(wan::kMaxPromptBytes - 1, ' ') + "x") == "x");

  std::string lines;
  for (int i = 0; i < 1000; ++i) lines += "line &amp; " + std::to_string(i) + "\n";
  int calls = 0;
  wan::clean_prompt(lines, [&] { ++calls; });
  EXPECT_MSG(calls >= 1000, std::to_string(calls) + " checks for 1000 lines");

  struct Stop {};
  calls = 0;
  bool stopped = false;
  try {
    wan::clean_prompt(lines, [&] {
      if (++calls == 50) throw Stop{};
    });
  } catch (const Stop&) {
    stopped = true;
  }
  EXPECT_MSG(stopped && calls == 50, "the check's exception did not stop the cleaning");

  std::string one_line;
  while (one_line.size() < wan::kMaxPromptBytes - 64)
    one_line += "caf\xC3\xA9 &amp;amp; \xEF\xBC\xA1 \xE2\x80\x9Cq\xE2\x80\x9D ";
  std::string nested = "&#65279;";
  while (nested.size() < wan::kMaxPromptBytes - 16) nested = "&#" + nested + "65279;";
  using Clock = std::chrono::steady_clock;
  for (const std::string* prompt : {&one_line, &nested}) {
    const Clock::time_point start = Clock::now();
    Clock::time_point last = start;
    double longest_gap = 0;
    try {
      wan::clean_prompt(*prompt, [&] {
        const Clock::time_point now = Clock::now();
        longest_gap = std::max(longest_gap, std::chrono::duration<double>(now - last).count());
        last = now;
        if (now - start > std::chrono::milliseconds(300)) throw Stop{};
      });
    } catch (const Stop&) {
    }
    const double total = std::chrono::duration<double>(Clock::now() - start).count();
    longest_gap = std::max(longest_gap, std::chrono::duration<double>(Clock::now() - last).count());
    const std::string what = std::to_string(prompt->size()) + "-byte prompt: ";
    EXPECT_MSG(longest_gap < 0.5, what + std::to_string(longest_gap) + " s between two checks");
    EXPECT_MSG(total < 2.0, what + "cleaning took " + std::to_string(total) + " s with a stop after 0.3 s");
  }
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
  nested_entities_clean_in_linear_time();
  one_pass_matches_the_round_loop();
  cleaning_stops_between_passes();
  invalid_utf8();
  return wan::test::check_exit("test-text-cleaning");
}
