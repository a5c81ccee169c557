// One pattern of the layout table (checkpoint_layout.h) over dotted names: "{i}" matches a
// decimal index, "{*}" the rest of the name (dots included), "{part}" one of the comma-separated
// `parts`; any other character matches itself. Matching takes O(pattern x name) time and no
// recursion, so a name of any length is safe (std::regex recursed per character and overflowed
// the stack on long names).
#pragma once
#include <string>
#include <vector>

namespace wan {

class NamePattern {
 public:
  explicit NamePattern(const std::string& pattern, const char* parts = nullptr);

  // Whether all of `name` matches; then *captures holds the text of each placeholder, in
  // pattern order. Where a placeholder could take several lengths it takes what the regex it
  // replaces took: {i} and {*} the longest that lets the rest match, {part} the first value
  // that does.
  bool match(const std::string& name, std::vector<std::string>* captures) const;

  // The placeholder of each capture, in order: "{i}", "{*}" or "{part}".
  const std::vector<std::string>& slots() const { return slots_; }

 private:
  enum class Kind { Literal, Index, Rest, Part };
  struct Token {
    Kind kind;
    std::vector<std::string> texts;  // the literal, or the values of {part}
  };
  std::vector<Token> tokens_;
  std::vector<std::string> slots_;
};

}  // namespace wan
