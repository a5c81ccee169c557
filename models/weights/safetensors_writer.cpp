#include <fstream>

#include <torch/version.h>
#include <nlohmann/json.hpp>

#include "models/common/error.h"
#include "models/weights/safetensors.h"

namespace wan {
namespace {

const char* dtype_name(at::ScalarType st) {
  switch (st) {
    case at::kDouble: return "F64";
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kShort: return "I16";
    case at::kChar: return "I8";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
#if TORCH_VERSION_MAJOR >= 2 && TORCH_VERSION_MINOR >= 1
    case at::kFloat8_e4m3fn: return "F8_E4M3";
    case at::kFloat8_e5m2: return "F8_E5M2";
#endif
    default: return nullptr;
  }
}

}  // namespace

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata,
                      const std::map<std::string, std::string>& byte_encoded) {
  for (const auto& [name, dtype] : byte_encoded) {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw Error("save_safetensors: byte-encoded tensor '" + name + "' is not given");
    if (it->second.scalar_type() != at::kByte || (dtype != "F8_E4M3" && dtype != "F8_E5M2"))
      throw Error("save_safetensors: byte-encoded tensor '" + name + "' must be U8 codes written as F8_E4M3 or " +
                  "F8_E5M2 (got " + std::string(c10::toString(it->second.scalar_type())) + " as " + dtype + ")");
  }
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    auto encoded = byte_encoded.find(name);
    const char* dtype = encoded != byte_encoded.end() ? encoded->second.c_str() : dtype_name(t.scalar_type());
    if (!dtype) throw Error("save_safetensors: tensor '" + name + "' has an unsupported dtype");
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    const uint64_t bytes = c.numel() * c.element_size();
    header[name] = {{"dtype", dtype}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(c);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // pad so the data section stays 8-byte aligned
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write '" + path + "'");
  const uint64_t n = json.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(json.data(), json.size());
  for (const auto& c : data) out.write(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
  if (!out) throw Error("write to '" + path + "' failed");
}

}  // namespace wan
