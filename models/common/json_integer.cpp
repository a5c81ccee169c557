#include "models/common/json_integer.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "models/common/error.h"

namespace wan {
namespace {

// The offending value for the message, cut short: a config can hold anything.
std::string shown(const nlohmann::json& value) {
  constexpr size_t kMaxShown = 40;
  std::string text = value.dump();
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
  return text;
}

}  // namespace

int64_t json_integer(const nlohmann::json& value, const std::string& origin, const std::string& key) {
  if (!value.is_number_integer()) throw Error(origin + ": \"" + key + "\" must be an integer, got " + shown(value));
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw Error(origin + ": \"" + key + "\" is out of range, got " + shown(value));
  return value.get<int64_t>();
}

std::vector<int64_t> json_integers(const nlohmann::json& value, const std::string& origin, const std::string& key) {
  if (!value.is_array()) throw Error(origin + ": \"" + key + "\" must be a list of integers, got " + shown(value));
  std::vector<int64_t> out;
  out.reserve(value.size());
  for (const auto& entry : value) out.push_back(json_integer(entry, origin, key));
  return out;
}

}  // namespace wan
