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

}  // namespace

// A strength is what follows the last ':' unless that is part of the path (a drive letter or
// a folder after it); anything else after the ':' must be a number.
LoraSpec parse_lora_spec(const std::string& text) {
  const std::string entry = trimmed(text);
  LoraSpec spec;
  spec.path = entry;
  const size_t colon = entry.rfind(':');
  const std::string tail = colon == std::string::npos ? "" : trimmed(entry.substr(colon + 1));
  if (colon != std::string::npos && tail.find('/') == std::string::npos && tail.find('\\') == std::string::npos) {
    char* end = nullptr;
    const double value = std::strtod(tail.c_str(), &end);
    if (tail.empty() || end != tail.c_str() + tail.size() || !std::isfinite(value))
      throw Error("LoRA '" + entry + "': the strength after ':' must be a number, got '" + tail + "'");
    spec.path = trimmed(entry.substr(0, colon));
    spec.strength = value;
  }
  if (spec.path.empty()) throw Error("LoRA '" + entry + "' names no file");
  return spec;
}

std::vector<LoraSpec> parse_lora_list(const std::string& text) {
  std::vector<LoraSpec> out;
  std::stringstream in(text);
  std::string entry;
  while (std::getline(in, entry, ',')) {
    entry = trimmed(entry);
    if (entry.empty()) continue;
    out.push_back(parse_lora_spec(entry));
  }
  return out;
}

std::string lora_list_text(const std::vector<LoraSpec>& loras) {
  std::ostringstream s;
  for (size_t i = 0; i < loras.size(); ++i) s << (i ? "," : "") << loras[i].path << ':' << loras[i].strength;
  return s.str();
}

}  // namespace wan
