// The HTML5 named character references ("amp;" -> "&"), including the legacy
// names without a semicolon ("amp"), as Python's html.entities.html5 has them.
#pragma once
#include <vector>

namespace wan {

struct HtmlEntity {
  const char* name;  // without the leading '&'
  const char* utf8;  // replacement text
};

const std::vector<HtmlEntity>& html5_entities();

}  // namespace wan
