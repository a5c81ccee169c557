#include "models/weights/safetensors_header.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "models/common/error.h"

namespace wan {
namespace {

struct DtypeInfo {
  const char* name;
  size_t itemsize;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
    {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},      {"BOOL", 1},
};

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw Error("safetensors file '" + file + "': " + what);
}

}  // namespace

size_t safetensors_itemsize(const std::string& dtype) {
  for (const auto& d : kDtypes)
    if (dtype == d.name) return d.itemsize;
  return 0;
}

SafetensorsHeader parse_safetensors_header(const char* json, size_t json_size, uint64_t data_size,
                                           const std::string& file) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json, json + json_size);
  } catch (const nlohmann::json::exception& e) {
    fail(file, std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!doc.is_object()) fail(file, "header is not a JSON object");

  SafetensorsHeader header;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(file, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail(file, "__metadata__ value '" + m.key() + "' is not a string");
        header.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    if (!v.is_object()) fail(file, where + "entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) fail(file, where + "missing dtype");
    if (!v.contains("shape") || !v["shape"].is_array()) fail(file, where + "missing shape");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      fail(file, where + "data_offsets must be [begin, end]");

    SafetensorsEntry e;
    e.name = name;
    e.dtype = v["dtype"].get<std::string>();
    const size_t itemsize = safetensors_itemsize(e.dtype);
    if (!itemsize) fail(file, where + "unsupported dtype '" + e.dtype + "'");

    unsigned __int128 numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) fail(file, where + "shape entries must be non-negative integers");
      const uint64_t n = d.get<uint64_t>();
      if (n > (uint64_t(1) << 62)) fail(file, where + "dimension too large");
      numel *= n;
      if (numel > (static_cast<unsigned __int128>(1) << 62)) fail(file, where + "too many elements");
      e.shape.push_back(static_cast<int64_t>(n));
    }
    for (const auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) fail(file, where + "data_offsets must be non-negative integers");
    e.begin = v["data_offsets"][0].get<uint64_t>();
    e.end = v["data_offsets"][1].get<uint64_t>();
    if (e.end < e.begin) fail(file, where + "data_offsets end before begin");
    if (e.end > data_size)
      fail(file, where + "data ends at byte " + std::to_string(e.end) + " past the data section (" +
                     std::to_string(data_size) + " bytes; file truncated?)");
    const unsigned __int128 bytes = numel * itemsize;
    if (bytes != e.end - e.begin)
      fail(file, where + "shape needs " + std::to_string(static_cast<uint64_t>(bytes)) + " bytes of " + e.dtype +
                     " but data_offsets span " + std::to_string(e.end - e.begin));
    header.entries.push_back(std::move(e));
  }

  // Overlap check in offset order.
  std::vector<const SafetensorsEntry*> sorted;
  for (const auto& e : header.entries) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const SafetensorsEntry* a, const SafetensorsEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->begin < sorted[i - 1]->end && sorted[i]->end > sorted[i]->begin)
      fail(file, "tensors '" + sorted[i - 1]->name + "' and '" + sorted[i]->name + "' overlap");
  return header;
}

}  // namespace wan
