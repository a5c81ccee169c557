#include "models/weights/name_pattern.h"

namespace wan {

NamePattern::NamePattern(const std::string& pattern, const char* parts) {
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, 3, "{i}") == 0) {
      tokens_.push_back({Kind::Index, {}});
      slots_.push_back("{i}");
      i += 3;
    } else if (pattern.compare(i, 3, "{*}") == 0) {
      tokens_.push_back({Kind::Rest, {}});
      slots_.push_back("{*}");
      i += 3;
    } else if (pattern.compare(i, 6, "{part}") == 0) {
      // No parts means one empty value, as the regex "()" did.
      const std::string list = parts ? parts : "";
      Token t{Kind::Part, {}};
      for (size_t start = 0;;) {
        const size_t comma = list.find(',', start);
        t.texts.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      tokens_.push_back(std::move(t));
      slots_.push_back("{part}");
      i += 6;
    } else {
      if (tokens_.empty() || tokens_.back().kind != Kind::Literal) tokens_.push_back({Kind::Literal, {""}});
      tokens_.back().texts[0] += pattern[i++];
    }
  }
}

namespace {

// The characters of an {i} or {*} run: the regex's \d, and its '.', which skips line ends.
bool in_run(bool digits, char c) { return digits ? c >= '0' && c <= '9' : c != '\n' && c != '\r'; }

}  // namespace

bool NamePattern::match(const std::string& name, std::vector<std::string>* captures) const {
  const size_t n = name.size(), count = tokens_.size();
  // Most rows differ from most names in their first characters: no need for the table below.
  if (count > 0 && tokens_[0].kind == Kind::Literal && name.compare(0, tokens_[0].texts[0].size(), tokens_[0].texts[0]))
    return false;

  // fits[k][p]: tokens k.. match name[p..n). Filled from the last token back, each row from
  // the end of the name, so a run ({i}, {*}) extends the row it is writing.
  std::vector<std::vector<char>> fits(count + 1, std::vector<char>(n + 1, 0));
  fits[count][n] = 1;
  for (size_t k = count; k-- > 0;) {
    const Token& t = tokens_[k];
    std::vector<char>& row = fits[k];
    const std::vector<char>& next = fits[k + 1];
    for (size_t p = n + 1; p-- > 0;) {
      if (t.kind == Kind::Index || t.kind == Kind::Rest) {
        row[p] = p < n && in_run(t.kind == Kind::Index, name[p]) && (next[p + 1] || row[p + 1]);
      } else {
        for (const auto& s : t.texts)
          if (name.compare(p, s.size(), s) == 0 && next[p + s.size()]) row[p] = 1;
      }
    }
  }
  if (!fits[0][0]) return false;

  // Walk forward taking, at each token, the regex's preferred choice among those that fit.
  captures->clear();
  size_t p = 0;
  for (size_t k = 0; k < count; ++k) {
    const Token& t = tokens_[k];
    const std::vector<char>& next = fits[k + 1];
    size_t end = p;
    if (t.kind == Kind::Index || t.kind == Kind::Rest) {
      for (size_t q = p; q < n && in_run(t.kind == Kind::Index, name[q]); ++q)
        if (next[q + 1]) end = q + 1;  // greedy: the last end that fits
    } else {
      for (const auto& s : t.texts)
        if (name.compare(p, s.size(), s) == 0 && next[p + s.size()]) {
          end = p + s.size();  // alternation: the first value that fits
          break;
        }
    }
    if (t.kind != Kind::Literal) captures->push_back(name.substr(p, end - p));
    p = end;
  }
  return true;
}

}  // namespace wan
