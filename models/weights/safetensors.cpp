#include "models/weights/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <ATen/ATen.h>
#include <torch/version.h>
#include <nlohmann/json.hpp>

#include "models/common/error.h"

namespace wan {
namespace {

at::ScalarType scalar_type(const std::string& dtype) {
  if (dtype == "F64") return at::kDouble;
  if (dtype == "F32") return at::kFloat;
  if (dtype == "F16") return at::kHalf;
  if (dtype == "BF16") return at::kBFloat16;
  if (dtype == "I64") return at::kLong;
  if (dtype == "I32") return at::kInt;
  if (dtype == "I16") return at::kShort;
  if (dtype == "I8") return at::kChar;
  if (dtype == "U8") return at::kByte;
  if (dtype == "BOOL") return at::kBool;
  return at::kFloat;  // float8 handled by the caller
}

// float8 e4m3fn (no infinities; 0x7f/0xff are NaN) -> float32, for libtorch
// builds without a float8 dtype.
float e4m3fn_to_float(uint8_t v) {
  const int sign = v >> 7, exp = (v >> 3) & 0xf, man = v & 0x7;
  float mag;
  if (exp == 0xf && man == 0x7)
    mag = NAN;
  else if (exp == 0)
    mag = std::ldexp(static_cast<float>(man), -9);  // subnormal: man/8 * 2^-6
  else
    mag = std::ldexp(1.0f + man / 8.0f, exp - 7);
  return sign ? -mag : mag;
}

float e5m2_to_float(uint8_t v) {
  // e5m2 is the upper byte of an IEEE half.
  at::Half h;
  h.x = static_cast<uint16_t>(v) << 8;
  return static_cast<float>(h);
}

[[noreturn]] void fail(const std::string& file, const std::string& what) {
  throw Error("safetensors file '" + file + "': " + what);
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail(path, "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  }
  // Private, writable mapping: tensors may be modified in place without
  // touching the file (pages are copied on write).
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) fail(path, std::string("mmap failed: ") + std::strerror(errno));

  auto file = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
  file->path_ = path;
  file->map_ = map;
  file->map_size_ = size;
  file->keepalive_ = std::shared_ptr<void>(map, [size](void* p) { munmap(p, size); });

  uint64_t header_len = 0;
  std::memcpy(&header_len, map, 8);  // little-endian hosts only (x86-64, aarch64)
  if (header_len > size - 8)
    fail(path, "header length " + std::to_string(header_len) + " exceeds the file size " + std::to_string(size));
  const char* json = static_cast<const char*>(map) + 8;
  file->data_ = json + header_len;
  file->header_ = parse_safetensors_header(json, header_len, size - 8 - header_len, path);
  for (size_t i = 0; i < file->header_.entries.size(); ++i) file->index_[file->header_.entries[i].name] = i;
  return file;
}

SafetensorsFile::~SafetensorsFile() = default;

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) != 0; }

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail(path_, "no tensor named '" + name + "'");
  return make_tensor(header_.entries[it->second]);
}

at::Tensor SafetensorsFile::make_tensor(const SafetensorsEntry& e) const {
  const char* src = data_ + e.begin;
  const size_t bytes = e.end - e.begin;
  if (e.dtype == "F8_E4M3" || e.dtype == "F8_E5M2") {
#if TORCH_VERSION_MAJOR >= 2 && TORCH_VERSION_MINOR >= 1
    const auto st = e.dtype == "F8_E4M3" ? at::kFloat8_e4m3fn : at::kFloat8_e5m2;
    return at::empty(e.shape, at::TensorOptions().dtype(st))
        .copy_(at::from_blob(const_cast<char*>(src), {static_cast<int64_t>(bytes)}, at::kByte).view(st).view(e.shape));
#else
    at::Tensor out = at::empty(e.shape, at::kFloat);
    float* dst = out.data_ptr<float>();
    const auto* u = reinterpret_cast<const uint8_t*>(src);
    for (size_t i = 0; i < bytes; ++i) dst[i] = e.dtype == "F8_E4M3" ? e4m3fn_to_float(u[i]) : e5m2_to_float(u[i]);
    return out;
#endif
  }
  const at::ScalarType st = scalar_type(e.dtype);
  const size_t itemsize = at::elementSize(st);
  if (reinterpret_cast<uintptr_t>(src) % itemsize != 0) {
    // Misaligned data cannot be aliased: copy.
    at::Tensor out = at::empty(e.shape, at::TensorOptions().dtype(st));
    if (bytes) std::memcpy(out.data_ptr(), src, bytes);
    return out;
  }
  auto keep = keepalive_;
  return at::from_blob(
      const_cast<char*>(src), e.shape, [keep](void*) {}, at::TensorOptions().dtype(st));
}

TensorMap SafetensorsFile::tensors() const {
  TensorMap out;
  for (const auto& e : header_.entries) out.emplace(e.name, make_tensor(e));
  return out;
}

namespace {

TensorMap load_sharded(const std::string& index_path) {
  std::ifstream in(index_path);
  if (!in) throw Error("cannot open sharded checkpoint index '" + index_path + "'");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error("sharded checkpoint index '" + index_path + "' is not valid JSON (" + e.what() + ")");
  }
  if (!doc.contains("weight_map") || !doc["weight_map"].is_object())
    throw Error("sharded checkpoint index '" + index_path + "' has no weight_map object");
  const auto dir = std::filesystem::path(index_path).parent_path();
  std::map<std::string, std::shared_ptr<SafetensorsFile>> shards;
  TensorMap out;
  for (auto it = doc["weight_map"].begin(); it != doc["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      throw Error("index '" + index_path + "': weight_map['" + it.key() + "'] is not a file name");
    const std::string shard = it.value().get<std::string>();
    if (shard.find('/') != std::string::npos || shard == "..")
      throw Error("index '" + index_path + "': shard name '" + shard + "' must be a file beside the index");
    auto& f = shards[shard];
    if (!f) f = SafetensorsFile::open((dir / shard).string());
    if (!f->contains(it.key()))
      throw Error("index '" + index_path + "' maps '" + it.key() + "' to '" + shard + "', which has no such tensor");
    out.emplace(it.key(), f->tensor(it.key()));
  }
  // Every tensor of every shard must be listed, or a stale shard slipped in.
  for (const auto& [name, f] : shards)
    for (const auto& e : f->entries())
      if (!out.count(e.name))
        throw Error("shard '" + name + "' holds '" + e.name + "', which the index '" + index_path + "' does not list");
  return out;
}

}  // namespace

TensorMap load_safetensors(const std::string& path) {
  const std::string suffix = ".index.json";
  if (path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
    return load_sharded(path);
  return SafetensorsFile::open(path)->tensors();
}

}  // namespace wan
