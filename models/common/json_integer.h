// Integer fields of config.json files, read strictly. nlohmann's get<int64_t>
// casts a float (1e300: undefined behaviour; 4.5: silently 4) and wraps an
// unsigned above INT64_MAX to a negative number; these reject both.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace wan {

// `value` as an int64; otherwise wan::Error "<origin>: "<key>" must be an integer ..., got <value>".
int64_t json_integer(const nlohmann::json& value, const std::string& origin, const std::string& key);

// `value` as a list of int64 (each entry read as json_integer does).
std::vector<int64_t> json_integers(const nlohmann::json& value, const std::string& origin, const std::string& key);

}  // namespace wan
