// The .pth reader: the fixture checkpoints (F32, BF16, F16 storages), strided
// views of shared storages, dispatch by file type, and wan::Error (never a
// crash) for malformed pickles and archives, zip bombs and inconsistent zip
// directories included.
// usage: test-pth FIXTURES_DIR
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include "models/weights/checkpoint_file.h"
#include "models/weights/pth_file.h"
#include "models/weights/pth_pickle.h"
#include "models/weights/safetensors.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

fs::path tmpdir() {
  static fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("wan-test-pth-" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

// Writes the pickle opcodes torch.save uses for a state_dict.
class PickleWriter {
 public:
  PickleWriter() { bytes_ += "\x80\x02"; }  // PROTO 2

  const std::string& bytes() const { return bytes_; }

  PickleWriter& raw(const std::string& b) {
    bytes_ += b;
    return *this;
  }
  PickleWriter& global(const std::string& module, const std::string& name) {
    return raw("c" + module + "\n" + name + "\n");
  }
  PickleWriter& str(const std::string& s) {
    bytes_ += 'X';
    le(s.size(), 4);
    return raw(s);
  }
  PickleWriter& integer(int64_t v) {
    if (v >= 0 && v < 256) {
      bytes_ += 'K';
      le(v, 1);
    } else {
      bytes_ += "\x8a\x08";  // LONG1 of 8 bytes
      le(v, 8);
    }
    return *this;
  }
  PickleWriter& mark() { return raw("("); }
  PickleWriter& tuple() { return raw("t"); }
  PickleWriter& ordered_dict() { return global("collections", "OrderedDict").raw(")R"); }

  // name -> _rebuild_tensor_v2(('storage', type, key, 'cpu', numel), offset, sizes, strides, False, OrderedDict())
  PickleWriter& tensor(const std::string& name, const std::string& storage_type, const std::string& key, int64_t numel,
                       int64_t offset, const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
    str(name).global("torch._utils", "_rebuild_tensor_v2").mark();
    mark().str("storage").global("torch", storage_type).str(key).str("cpu").integer(numel).tuple().raw("Q");
    integer(offset);
    mark();
    for (int64_t s : sizes) integer(s);
    tuple().mark();
    for (int64_t s : strides) integer(s);
    tuple().raw("\x89");  // requires_grad False
    ordered_dict();
    return tuple().raw("R");
  }

  std::string state_dict(const std::function<void(PickleWriter&)>& entries) {
    ordered_dict().mark();
    entries(*this);
    raw("u");  // SETITEMS
    // the `_metadata` attribute, set by BUILD
    raw("}").str("_metadata").ordered_dict().mark().str("").raw("}").str("version").integer(1).raw("su");
    raw("sb.");
    return bytes_;
  }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::string bytes_;
};

// A torch.save-style zip archive with the given pickle and storages.
fs::path write_pth(const std::string& name, const std::string& pickle,
                   const std::map<std::string, std::string>& storages) {
  const fs::path p = tmpdir() / name;
  caffe2::serialize::PyTorchStreamWriter writer(p.string());
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto& [key, bytes] : storages) writer.writeRecord("data/" + key, bytes.data(), bytes.size());
  writer.writeEndOfFile();
  return p;
}

std::string bytes_of(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), c.nbytes());
}

void fixture_checkpoints(const fs::path& ckpt) {
  const auto vae = wan::load_pth((ckpt / "Wan2.1_VAE.pth").string());
  EXPECT(vae.size() == 194);
  EXPECT(vae.at("encoder.conv1.weight").scalar_type() == at::kFloat);
  EXPECT(vae.at("encoder.conv1.weight").sizes() == at::IntArrayRef({4, 3, 3, 3, 3}));
  EXPECT(vae.at("decoder.upsamples.3.time_conv.weight").sizes() == at::IntArrayRef({32, 16, 3, 1, 1}));
  EXPECT(vae.at("conv2.bias").sizes() == at::IntArrayRef({16}));
  EXPECT(vae.at("encoder.head.0.gamma").sizes() == at::IntArrayRef({16, 1, 1, 1}));
  // Random weights: finite and not all zero.
  EXPECT(vae.at("decoder.head.2.weight").isfinite().all().item<bool>());
  EXPECT(vae.at("decoder.head.2.weight").abs().sum().item<float>() > 0);

  const auto t5 = wan::load_pth((ckpt / "models_t5_umt5-xxl-enc-bf16.pth").string());
  EXPECT(t5.size() == 22);
  EXPECT(t5.at("token_embedding.weight").scalar_type() == at::kBFloat16);
  EXPECT(t5.at("token_embedding.weight").sizes() == at::IntArrayRef({320, 4096}));
  EXPECT(t5.at("blocks.1.pos_embedding.embedding.weight").dim() == 2);
  EXPECT(t5.at("norm.weight").sizes() == at::IntArrayRef({4096}));

  const auto clip = wan::load_pth((ckpt / "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth").string());
  EXPECT(clip.size() == 32);
  EXPECT(clip.at("log_scale").scalar_type() == at::kHalf && clip.at("log_scale").dim() == 0);
  EXPECT(clip.at("visual.patch_embedding.weight").sizes() == at::IntArrayRef({1280, 3, 4, 4}));
  EXPECT(clip.at("visual.pos_embedding").sizes() == at::IntArrayRef({1, 17, 1280}));

  // The dispatcher picks the same reader.
  EXPECT(wan::load_checkpoint_file((ckpt / "Wan2.1_VAE.pth").string()).size() == 194);
  EXPECT(wan::load_checkpoint_file((ckpt / "diffusion_pytorch_model.safetensors").string()).count("head.head.weight") ==
         1);
}

// Views into one shared storage come back with their offset, sizes and strides.
void views_of_a_shared_storage() {
  const at::Tensor storage = at::arange(24, at::kFloat);
  const at::Tensor ids = at::arange(6, at::kLong);
  const std::string pickle = PickleWriter().state_dict([](PickleWriter& w) {
    w.tensor("whole", "FloatStorage", "0", 24, 0, {4, 6}, {6, 1});
    w.tensor("transposed", "FloatStorage", "0", 24, 0, {6, 4}, {1, 6});
    w.tensor("row2", "FloatStorage", "0", 24, 12, {6}, {1});
    w.tensor("ids", "LongStorage", "1", 6, 0, {2, 3}, {3, 1});
    w.tensor("scalar", "FloatStorage", "0", 24, 5, {}, {});
  });
  const fs::path p = write_pth("views.pth", pickle, {{"0", bytes_of(storage)}, {"1", bytes_of(ids)}});
  const auto t = wan::load_pth(p.string());
  EXPECT(t.size() == 5);
  EXPECT(at::equal(t.at("whole"), storage.view({4, 6})));
  EXPECT(at::equal(t.at("transposed"), storage.view({4, 6}).t()));
  EXPECT(at::equal(t.at("row2"), storage.narrow(0, 12, 6)));
  EXPECT(t.at("ids").scalar_type() == at::kLong && at::equal(t.at("ids"), ids.view({2, 3})));
  EXPECT(t.at("scalar").dim() == 0 && t.at("scalar").item<float>() == 5.0f);
}

std::vector<uint8_t> to_bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

void parse(const std::string& pickle) {
  const auto b = to_bytes(pickle);
  wan::pth::read_state_dict_pickle(b.data(), b.size(), "test.pth (data.pkl)");
}

void malformed_pickles() {
  const std::string good =
      PickleWriter().state_dict([](PickleWriter& w) { w.tensor("w", "FloatStorage", "0", 4, 0, {4}, {1}); });
  parse(good);  // the baseline is valid

  // Every truncation is an error naming the file and a byte offset.
  for (size_t n = 0; n < good.size(); ++n) EXPECT_ERROR(parse(good.substr(0, n)), "test.pth (data.pkl): byte ");
  EXPECT_ERROR(parse(good.substr(0, 40)), "truncated pickle");

  EXPECT_ERROR(parse(good + "N"), "data after the STOP opcode");
  std::string bad_opcode = good;
  bad_opcode[2] = 'i';  // INST: would import and call
  EXPECT_ERROR(parse(bad_opcode), "byte 2: pickle opcode 0x69 is not part of a torch.save state_dict");

  EXPECT_ERROR(parse(PickleWriter().global("os", "system").raw(".").bytes()), "global 'os.system' is not allowed");
  EXPECT_ERROR(parse(PickleWriter().state_dict([](PickleWriter& w) { w.str("w").global("builtins", "eval"); })),
               "global 'builtins.eval' is not allowed");

  // Views outside their storage.
  EXPECT_ERROR(
      parse(PickleWriter().state_dict([](PickleWriter& w) { w.tensor("w", "FloatStorage", "0", 4, 1, {4}, {1}); })),
      "tensor 'w': view (offset 1, last element 4) lies outside its storage '0' of 4 elements");
  EXPECT_ERROR(parse(PickleWriter().state_dict([](PickleWriter& w) {
                 w.tensor("w", "FloatStorage", "0", 4, 0, {2, 2}, {3, 1});
               })),
               "lies outside its storage");
  EXPECT_ERROR(parse(PickleWriter().state_dict([](PickleWriter& w) {
                 w.tensor("w", "FloatStorage", "0", 4, 0, {1LL << 40, 1LL << 40}, {1LL << 40, 1LL << 40});
               })),
               "overflows");
  EXPECT_ERROR(
      parse(PickleWriter().state_dict([](PickleWriter& w) { w.tensor("w", "FloatStorage", "0", 4, 0, {-1}, {1}); })),
      "negative size");
  EXPECT_ERROR(parse(PickleWriter().state_dict([](PickleWriter& w) {
                 w.tensor("w", "FloatStorage", "0", 4, 0, {2, 2}, {1});
               })),
               "2 sizes but 1 strides");

  // Wrong shapes of the whole.
  EXPECT_ERROR(parse(PickleWriter().raw("N.").bytes()), "holds a None, expected a state_dict");
  EXPECT_ERROR(parse(PickleWriter().state_dict([](PickleWriter& w) { w.str("step").integer(7); })),
               "entry 'step' is a int, expected a tensor");
  EXPECT_ERROR(parse(PickleWriter().raw("h\x05.").bytes()), "memo index 5 was never stored");
  EXPECT_ERROR(parse(PickleWriter().raw("t.").bytes()), "needs a MARK");
  EXPECT_ERROR(parse(PickleWriter().raw("s.").bytes()), "stack underflow");
  EXPECT_ERROR(parse(PickleWriter().global("torch", "FloatStorage").raw(")R.").bytes()), "cannot be called");
  EXPECT_ERROR(parse(PickleWriter().raw("\x8a\x09").bytes()), "too large");
  // A list that contains itself is harmless (and not a state_dict).
  EXPECT_ERROR(parse(PickleWriter().raw(std::string("]q\0h\0a.", 7)).bytes()), "holds a list");
}

// A small pickle that fetches one long memoised tuple as the sizes and strides of many tensors
// once drove the reader past 2 GB; the copies now count against a budget.
void memo_amplification_is_bounded() {
  std::string ones = "(";
  for (int i = 0; i < 60000; ++i) ones += "K\x01";
  ones += "tq\x01";  // the tuple, memoised as 1
  const std::string pickle = PickleWriter().state_dict([&](PickleWriter& w) {
    for (int i = 0; i < 300; ++i) {
      w.str("w" + std::to_string(i)).global("torch._utils", "_rebuild_tensor_v2").mark();
      w.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(1).tuple().raw("Q");
      w.integer(0).raw(i == 0 ? ones : std::string("h\x01")).raw("h\x01").raw("\x89").ordered_dict().tuple().raw("R");
    }
  });
  EXPECT(pickle.size() < 200000);
  EXPECT_ERROR(parse(pickle), "MiB of tensor metadata (a corrupt or hostile file)");
}

void malformed_archives() {
  const std::string pickle =
      PickleWriter().state_dict([](PickleWriter& w) { w.tensor("w", "FloatStorage", "0", 4, 0, {4}, {1}); });
  const std::string four_floats = bytes_of(at::ones({4}));

  const fs::path ok = write_pth("ok.pth", pickle, {{"0", four_floats}});
  EXPECT(wan::load_pth(ok.string()).at("w").sum().item<float>() == 4.0f);

  const fs::path missing = write_pth("missing.pth", pickle, {});
  EXPECT_ERROR(wan::load_pth(missing.string()), "storage '0' of tensor 'w' is missing");

  const fs::path short_storage = write_pth("short.pth", pickle, {{"0", four_floats.substr(0, 12)}});
  EXPECT_ERROR(wan::load_pth(short_storage.string()), "has 12 bytes, expected 16");

  // The same storage read as two dtypes.
  const std::string two_views = PickleWriter().state_dict([](PickleWriter& w) {
    w.tensor("a", "FloatStorage", "0", 4, 0, {4}, {1});
    w.tensor("b", "IntStorage", "0", 4, 0, {4}, {1});
  });
  EXPECT_ERROR(wan::load_pth(write_pth("two.pth", two_views, {{"0", four_floats}}).string()),
               "tensor 'b' reads storage '0' as 4 int32");

  const fs::path no_pickle = tmpdir() / "nopickle.pth";
  {
    caffe2::serialize::PyTorchStreamWriter writer(no_pickle.string());
    writer.writeRecord("other", "x", 1);
    writer.writeEndOfFile();
  }
  EXPECT_ERROR(wan::load_pth(no_pickle.string()), "without data.pkl");

  // A version number past 2^64: libtorch's std::stoull threw std::out_of_range through the reader.
  const fs::path huge_version = tmpdir() / "version.pth";
  {
    caffe2::serialize::PyTorchStreamWriter writer(huge_version.string());
    const std::string version = "99999999999999999999999\n";
    writer.writeRecord(".data/version", version.data(), version.size());  // read before "version"
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    writer.writeRecord("data/0", four_floats.data(), four_floats.size());
    writer.writeEndOfFile();
  }
  EXPECT_ERROR(wan::load_pth(huge_version.string()), "not a readable torch.save zip archive (stoull");
  EXPECT_ERROR(wan::pth_tensor_names(huge_version.string()), "not a readable torch.save zip archive (stoull");

  const fs::path text = tmpdir() / "text.pth";
  std::ofstream(text) << "not a zip";
  EXPECT_ERROR(wan::load_pth(text.string()), "not a readable torch.save zip archive");
  EXPECT_ERROR(wan::load_pth((tmpdir() / "absent.pth").string()), "does not exist");
  EXPECT_ERROR(wan::load_checkpoint_file((tmpdir() / "absent.safetensors").string()), "does not exist");
}

// A raw deflate stream of one fixed-Huffman block: literals, and 258-byte copies of the
// byte before (the densest fixed code: 13 bits for 258 bytes).
class FixedHuffmanDeflate {
 public:
  FixedHuffmanDeflate() { bits(0b011, 3); }  // BFINAL, BTYPE 01 (fixed codes)
  void literal(uint8_t v) { v < 144 ? code(0x30 + v, 8) : code(0x190 + v - 144, 9); }
  void repeat_previous_258() {
    code(0xc5, 8);  // length 258 (symbol 285)
    code(0, 5);     // distance 1
  }
  std::string finish() {
    code(0, 7);  // end of block
    if (count_) bits(0, 8 - count_);
    return out_;
  }

 private:
  void bits(uint32_t v, int n) {
    acc_ |= static_cast<uint64_t>(v) << count_;
    for (count_ += n; count_ >= 8; count_ -= 8, acc_ >>= 8) out_ += static_cast<char>(acc_ & 0xff);
  }
  void code(uint32_t c, int n) {  // Huffman codes go most significant bit first
    uint32_t reversed = 0;
    for (int i = 0; i < n; ++i) reversed |= ((c >> i) & 1) << (n - 1 - i);
    bits(reversed, n);
  }
  std::string out_;
  uint64_t acc_ = 0;
  int count_ = 0;
};

uint32_t crc32(const std::string& data) {
  uint32_t crc = 0xffffffff;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
  }
  return ~crc;
}

struct ZipRecord {
  std::string name;
  std::string data;  // as stored in the file
  uint16_t method = 0;
  uint64_t unpacked_size = 0;
  uint32_t crc = 0;
};

ZipRecord stored(const std::string& name, const std::string& data) { return {name, data, 0, data.size(), crc32(data)}; }

ZipRecord deflated_literals(const std::string& name, const std::string& data) {
  FixedHuffmanDeflate d;
  for (char c : data) d.literal(static_cast<uint8_t>(c));
  return {name, d.finish(), 8, data.size(), crc32(data)};
}

// A zip archive as miniz reads it; with `zip64`, every entry's sizes and offset in zip64
// extra fields and the zip64 end records, as torch.save writes for files past 4 GiB.
std::string zip_archive(const std::vector<ZipRecord>& records, bool zip64) {
  std::string out, directory;
  const auto le = [](std::string& s, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  const uint32_t big = 0xffffffff;
  for (const ZipRecord& r : records) {
    const uint64_t offset = out.size();
    le(out, 0x04034b50, 4), le(out, zip64 ? 45 : 20, 2), le(out, 0, 2), le(out, r.method, 2), le(out, 0, 4);
    le(out, r.crc, 4), le(out, zip64 ? big : r.data.size(), 4), le(out, zip64 ? big : r.unpacked_size, 4);
    le(out, r.name.size(), 2), le(out, zip64 ? 20 : 0, 2);
    out += r.name;
    if (zip64) le(out, 1, 2), le(out, 16, 2), le(out, r.unpacked_size, 8), le(out, r.data.size(), 8);
    out += r.data;

    le(directory, 0x02014b50, 4), le(directory, 45, 2), le(directory, zip64 ? 45 : 20, 2), le(directory, 0, 2);
    le(directory, r.method, 2), le(directory, 0, 4), le(directory, r.crc, 4);
    le(directory, zip64 ? big : r.data.size(), 4), le(directory, zip64 ? big : r.unpacked_size, 4);
    le(directory, r.name.size(), 2), le(directory, zip64 ? 28 : 0, 2), le(directory, 0, 2), le(directory, 0, 2);
    le(directory, 0, 2), le(directory, 0, 4), le(directory, zip64 ? big : offset, 4);
    directory += r.name;
    if (zip64)
      le(directory, 1, 2), le(directory, 24, 2), le(directory, r.unpacked_size, 8), le(directory, r.data.size(), 8),
          le(directory, offset, 8);
  }
  const uint64_t directory_offset = out.size();
  out += directory;
  if (zip64) {
    const uint64_t record_offset = out.size();
    le(out, 0x06064b50, 4), le(out, 44, 8), le(out, 45, 2), le(out, 45, 2), le(out, 0, 4), le(out, 0, 4);
    le(out, records.size(), 8), le(out, records.size(), 8), le(out, directory.size(), 8), le(out, directory_offset, 8);
    le(out, 0x07064b50, 4), le(out, 0, 4), le(out, record_offset, 8), le(out, 1, 4);
  }
  le(out, 0x06054b50, 4), le(out, 0, 2), le(out, 0, 2);
  le(out, zip64 ? 0xffff : records.size(), 2), le(out, zip64 ? 0xffff : records.size(), 2);
  le(out, zip64 ? big : directory.size(), 4), le(out, zip64 ? big : directory_offset, 4), le(out, 0, 2);
  return out;
}

fs::path write_file(const std::string& name, const std::string& bytes) {
  const fs::path p = tmpdir() / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const std::string kFourFloatsPickle =
    PickleWriter().state_dict([](PickleWriter& w) { w.tensor("w", "FloatStorage", "0", 4, 0, {4}, {1}); });

// The records torch.save writes, with the storage record given.
std::vector<ZipRecord> checkpoint_records(const ZipRecord& storage) {
  return {stored("archive/data.pkl", kFourFloatsPickle), stored("archive/version", "3\n"), storage};
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// A 1 GiB run of zeros deflated into a few MB, where the pickle asks for 16 bytes: libtorch
// unpacked the whole record before any size was compared (gigabytes, seconds). The
// directory is checked first now. Run before the tests that load real weights, so the
// process's peak memory shows any unpacking.
void zip_bomb_is_refused_unread() {
  FixedHuffmanDeflate bomb;
  bomb.literal(0);
  const uint64_t copies = (1ull << 30) / 258;
  for (uint64_t i = 0; i < copies; ++i) bomb.repeat_previous_258();
  // No CRC: nothing may be unpacked far enough to compare it.
  const ZipRecord storage{"archive/data/0", bomb.finish(), 8, 1 + 258 * copies, 0};
  EXPECT(storage.data.size() < 8'000'000);
  const fs::path p = write_file("bomb.pth", zip_archive(checkpoint_records(storage), false));

  const long rss_before = peak_rss_kib();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR(wan::load_pth(p.string()), "deflated records (the largest 'archive/data/0'");
  EXPECT_ERROR(wan::pth_tensor_names(p.string()), "refusing to inflate them");
  EXPECT(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  EXPECT(peak_rss_kib() - rss_before < 128 * 1024);

  // A smaller bomb, within what a deflated archive may hold, is still compared with the
  // pickle's size first: its stream is garbage, which libtorch would have reported instead.
  const ZipRecord garbage{"archive/data/0", std::string(40000, '\xff'), 8, 32u << 20, 0};
  EXPECT_ERROR(wan::load_pth(write_file("bomb32.pth", zip_archive(checkpoint_records(garbage), false)).string()),
               "storage '0' of tensor 'w' (record 'archive/data/0') has 33554432 bytes, expected 16");
}

// The records libtorch unpacks whole before we can read them (the pickle, the version) are
// refused by their declared size: a garbage stream the directory check lets through (within
// deflate's ratio and the archive's budget) would otherwise be unpacked first.
void oversized_whole_records_are_refused_unread() {
  const ZipRecord pickle{"archive/data.pkl", std::string(60000, '\xff'), 8, 48u << 20, 0};
  EXPECT_ERROR(wan::load_pth(
                   write_file("pickle48.pth", zip_archive({pickle, stored("archive/version", "3\n")}, false)).string()),
               "record 'archive/data.pkl' unpacks to 50331648 bytes, more than the 33554432");
  const ZipRecord version{"archive/version", std::string(60000, '\xff'), 8, 48u << 20, 0};
  EXPECT_ERROR(wan::load_pth(write_file("version48.pth",
                                        zip_archive({stored("archive/data.pkl", kFourFloatsPickle), version}, false))
                                 .string()),
               "record 'archive/version' unpacks to 50331648 bytes, more than the 64");
}

// Deflated records of the right size, and zip64 directories, still load.
void deflated_and_zip64_archives_load() {
  const std::string four_floats = bytes_of(at::arange(4, at::kFloat));
  for (bool zip64 : {false, true}) {
    for (const ZipRecord& storage :
         {stored("archive/data/0", four_floats), deflated_literals("archive/data/0", four_floats)}) {
      const std::string name =
          std::string(zip64 ? "zip64-" : "zip-") + (storage.method ? "deflated.pth" : "stored.pth");
      const auto t = wan::load_pth(write_file(name, zip_archive(checkpoint_records(storage), zip64)).string());
      EXPECT(t.size() == 1 && at::equal(t.at("w"), at::arange(4, at::kFloat)));
    }
  }
  // More than deflate can expand: 5000 bytes from 1.
  const ZipRecord dense{"archive/data/0", "x", 8, 5000, 0};
  EXPECT_ERROR(wan::load_pth(write_file("dense.pth", zip_archive(checkpoint_records(dense), true)).string()),
               "entry 'archive/data/0' declares 5000 bytes inflated from 1, more than deflate can expand");
}

// The offset of the central directory header of the entry whose name ends with `suffix`.
size_t central_header(const std::string& zip, const std::string& suffix) {
  for (size_t at = zip.find("PK\x01\x02"); at != std::string::npos; at = zip.find("PK\x01\x02", at + 1)) {
    const size_t name_size = static_cast<uint8_t>(zip[at + 28]) | static_cast<uint8_t>(zip[at + 29]) << 8;
    const std::string name = zip.substr(at + 46, name_size);
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return at;
  }
  return std::string::npos;
}

// torch.save's own layout (PyTorchStreamWriter) with one field overwritten.
void inconsistent_directories() {
  const std::string good = read_file(write_pth("layout.pth", kFourFloatsPickle, {{"0", bytes_of(at::ones({4}))}}));
  const size_t zip64_end = good.rfind("PK\x06\x06");
  const size_t storage = central_header(good, "/data/0");
  EXPECT(zip64_end != std::string::npos && storage != std::string::npos);
  const auto patched = [&](const std::string& name, size_t offset, uint64_t value, int n, size_t offset2 = 0) {
    std::string bytes = good;
    for (size_t at : {offset, offset2})
      for (int i = 0; at && i < n; ++i) bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
    return write_file(name, bytes).string();
  };
  EXPECT(wan::load_pth(patched("same.pth", storage + 4, 45, 2)).size() == 1);  // the baseline loads

  EXPECT_ERROR(wan::load_pth(patched("count.pth", zip64_end + 24, ~0ull, 8, zip64_end + 32)),
               "central directory declares 18446744073709551615 entries, more than its");
  EXPECT_ERROR(wan::load_pth(patched("cdir.pth", zip64_end + 48, ~0ull - 8, 8)), "runs past its end record");
  EXPECT_ERROR(wan::load_pth(patched("local.pth", storage + 42, 0xfffffff0, 4)),
               "layout/data/0' of 16 bytes at offset 4294967280 runs past the records' end");
  EXPECT_ERROR(wan::load_pth(patched("unpacked.pth", storage + 24, 1 << 30, 4)),
               "is stored uncompressed, yet declares 16 bytes in the file and 1073741824 unpacked");
  EXPECT_ERROR(wan::load_pth(patched("method.pth", storage + 10, 12, 2)), "uses compression method 12");
  EXPECT_ERROR(wan::load_pth(patched("zip64.pth", storage + 20, 0xffffffff, 4)), "has no zip64 extra field");
  // Pointing the storage's entry at the pickle's record: one stretch read twice.
  EXPECT_ERROR(wan::load_pth(patched("overlap.pth", storage + 42, 0, 4)), "overlap");
  // 'DATA/0' next to 'data/0': libtorch's reader matches names ignoring case.
  std::vector<ZipRecord> twins = checkpoint_records(stored("archive/data/0", bytes_of(at::ones({4}))));
  twins.push_back(stored("archive/DATA/0", bytes_of(at::zeros({4}))));
  EXPECT_ERROR(wan::load_pth(write_file("twins.pth", zip_archive(twins, false)).string()),
               "two entries named 'archive/DATA/0'");
  const size_t end = good.rfind("PK\x05\x06");
  EXPECT_ERROR(wan::load_pth(write_file("cut.pth", good.substr(0, end))), "no end-of-central-directory record");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-pth FIXTURES_DIR\n");
    return 2;
  }
  zip_bomb_is_refused_unread();
  oversized_whole_records_are_refused_unread();
  fixture_checkpoints(fs::path(argv[1]) / "e2e-i2v-tiny" / "ckpt");
  views_of_a_shared_storage();
  malformed_pickles();
  memo_amplification_is_bounded();
  malformed_archives();
  deflated_and_zip64_archives_load();
  inconsistent_directories();
  fs::remove_all(tmpdir());
  return wan::test::check_exit("test-pth");
}
