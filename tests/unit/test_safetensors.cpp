// The safetensors reader: round trips, sharded checkpoints, and a clear error
// (naming file, tensor and problem) for every kind of malformed file.
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <ATen/ATen.h>

#include "models/weights/safetensors.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

fs::path tmpdir() {
  static fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("wan-test-safetensors-" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

// Writes a file from a raw header string and `data_bytes` bytes of data.
fs::path raw_file(const std::string& name, const std::string& header, size_t data_bytes, int64_t header_len = -1) {
  fs::path p = tmpdir() / name;
  std::ofstream out(p, std::ios::binary);
  const uint64_t n = header_len < 0 ? header.size() : static_cast<uint64_t>(header_len);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << header;
  out << std::string(data_bytes, '\0');
  return p;
}

void round_trip() {
  wan::TensorMap in;
  in["a.weight"] = at::arange(12, at::kFloat).view({3, 4});
  in["b.bf16"] = at::randn({5}).to(at::kBFloat16);
  in["c.ids"] = at::arange(7, at::kLong);
  in["d.scalar"] = at::scalar_tensor(2.5);
  const fs::path p = tmpdir() / "round.safetensors";
  wan::save_safetensors(p.string(), in, {{"format", "pt"}});

  auto file = wan::SafetensorsFile::open(p.string());
  EXPECT(file->metadata().at("format") == "pt");
  EXPECT(file->entries().size() == 4);
  const wan::TensorMap out = wan::load_safetensors(p.string());
  for (const auto& [name, t] : in) {
    EXPECT_MSG(out.count(name) == 1, name);
    EXPECT_MSG(out.at(name).scalar_type() == t.scalar_type(), name);
    EXPECT_MSG(at::equal(out.at(name), t), name);
  }
  // Tensors stay valid after the file object is gone (they keep the mapping).
  at::Tensor kept = wan::SafetensorsFile::open(p.string())->tensor("a.weight");
  EXPECT(kept.sum().item<float>() == 66.0f);
  EXPECT_ERROR(file->tensor("nope"), "no tensor named 'nope'");
}

void sharded() {
  wan::TensorMap s1, s2;
  s1["x"] = at::ones({2});
  s2["y"] = at::zeros({3});
  wan::save_safetensors((tmpdir() / "m-00001-of-00002.safetensors").string(), s1);
  wan::save_safetensors((tmpdir() / "m-00002-of-00002.safetensors").string(), s2);
  std::ofstream(tmpdir() / "m.safetensors.index.json")
      << R"({"metadata":{},"weight_map":{"x":"m-00001-of-00002.safetensors","y":"m-00002-of-00002.safetensors"}})";
  const auto all = wan::load_safetensors((tmpdir() / "m.safetensors.index.json").string());
  EXPECT(all.size() == 2 && all.at("y").numel() == 3);

  std::ofstream(tmpdir() / "bad.safetensors.index.json") << R"({"weight_map":{"x":"m-00002-of-00002.safetensors"}})";
  EXPECT_ERROR(wan::load_safetensors((tmpdir() / "bad.safetensors.index.json").string()), "no such tensor");
  std::ofstream(tmpdir() / "missing.safetensors.index.json") << R"({"weight_map":{"x":"absent.safetensors"}})";
  EXPECT_ERROR(wan::load_safetensors((tmpdir() / "missing.safetensors.index.json").string()), "cannot open");
  std::ofstream(tmpdir() / "partial.safetensors.index.json") << R"({"weight_map":{"a.weight":"round.safetensors"}})";
  EXPECT_ERROR(wan::load_safetensors((tmpdir() / "partial.safetensors.index.json").string()), "does not list");
}

void float8_widening() {
  // e4m3fn: 0x38 = 1.0, 0xb8 = -1.0, 0x01 = 2^-9 (subnormal), 0x7e = 448 (max).
  const std::string header = R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})";
  fs::path p = tmpdir() / "f8.safetensors";
  {
    std::ofstream out(p, std::ios::binary);
    const uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << header << '\x38' << '\xb8' << '\x01' << '\x7e';
  }
  const at::Tensor w = wan::load_safetensors(p.string()).at("w").to(at::kFloat);
  EXPECT(w[0].item<float>() == 1.0f);
  EXPECT(w[1].item<float>() == -1.0f);
  EXPECT(w[2].item<float>() == 0.001953125f);
  EXPECT(w[3].item<float>() == 448.0f);
}

void malformed() {
  const auto load = [](const fs::path& p) { wan::load_safetensors(p.string()); };
  EXPECT_ERROR(load(tmpdir() / "does-not-exist.safetensors"), "cannot open");
  {
    fs::path p = tmpdir() / "short.safetensors";
    std::ofstream(p, std::ios::binary) << "abc";
    EXPECT_ERROR(load(p), "shorter than the 8-byte header length");
  }
  EXPECT_ERROR(load(raw_file("hugelen.safetensors", "{}", 0, 1 << 30)), "exceeds the file size");
  EXPECT_ERROR(load(raw_file("json.safetensors", "{\"a\": [", 0)), "not valid JSON");
  EXPECT_ERROR(load(raw_file("array.safetensors", "[1,2]", 0)), "not a JSON object");
  EXPECT_ERROR(load(raw_file("dtype.safetensors", R"({"t":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1)),
               "tensor 't': unsupported dtype 'Q4'");
  EXPECT_ERROR(load(raw_file("noshape.safetensors", R"({"t":{"dtype":"F32","data_offsets":[0,4]}})", 4)),
               "tensor 't': missing shape");
  EXPECT_ERROR(load(raw_file("negshape.safetensors", R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)),
               "non-negative");
  EXPECT_ERROR(load(raw_file("size.safetensors", R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
               "tensor 't': shape needs 12 bytes of F32 but data_offsets span 8");
  EXPECT_ERROR(load(raw_file("past.safetensors", R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8)),
               "past the data section");
  EXPECT_ERROR(load(raw_file("order.safetensors", R"({"t":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8)),
               "end before begin");
  EXPECT_ERROR(load(raw_file("overlap.safetensors",
                             R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                             12)),
               "overlap");
  EXPECT_ERROR(load(raw_file("meta.safetensors", R"({"__metadata__":{"n":1}})", 0)), "is not a string");
  EXPECT_ERROR(load(raw_file("overflow.safetensors",
                             R"({"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}})", 0)),
               "too ");
  // Errors name the file.
  EXPECT_ERROR(load(raw_file("named.safetensors", "{", 0)), "named.safetensors");
}

}  // namespace

int main() {
  round_trip();
  sharded();
  float8_widening();
  malformed();
  fs::remove_all(tmpdir());
  return wan::test::check_exit("test-safetensors");
}
