#include "models/weights/lora_spec.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "models/common/error.h"

namespace wan {
namespace {

std::string trimmed(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t\n");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t\n") - begin + 1);
}

// A strength is what follows the last ':' unless that is part of the path (a drive letter or
// a folder after it); anything else after the ':' must be a number.
LoraSpec parse_one(const std::string& entry) {
  LoraSpec spec;
  spec.path = entry;
  const size_t colon = entry.rfind(':');
  if (colon == std::string::npos) return spec;
  const std::string tail = trimmed(entry.substr(colon + 1));
  if (tail.find('/') != std::string::npos || tail.find('\\') != std::string::npos) return spec;
  char* end = nullptr;
  const double value = std::strtod(tail.c_str(), &end);
  if (tail.empty() || end != tail.c_str() + tail.size() || !std::isfinite(value))
    throw Error("LoRA '" + entry + "': the strength after ':' must be a number, got '" + tail + "'");
  spec.path = trimmed(entry.substr(0, colon));
  spec.strength = value;
  return spec;
}

}  // namespace

std::vector<LoraSpec> parse_lora_list(const std::string& text) {
  std::vector<LoraSpec> out;
  std::stringstream in(text);
  std::string entry;
  while (std::getline(in, entry, ',')) {
    entry = trimmed(entry);
    if (entry.empty()) continue;
    LoraSpec spec = parse_one(entry);
    if (spec.path.empty()) throw Error("LoRA '" + entry + "' names no file");
    out.push_back(spec);
  }
  return out;
}

std::string lora_list_text(const std::vector<LoraSpec>& loras) {
  std::ostringstream s;
  for (size_t i = 0; i < loras.size(); ++i) s << (i ? "," : "") << loras[i].path << ':' << loras[i].strength;
  return s.str();
}

}  // namespace wan
