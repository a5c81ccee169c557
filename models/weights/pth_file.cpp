#include "models/weights/pth_file.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include "models/common/error.h"
#include "models/weights/pth_pickle.h"
#include "models/weights/zip_directory.h"

namespace wan {

namespace {

at::ScalarType scalar_type(pth::StorageDtype dtype) {
  switch (dtype) {
    case pth::StorageDtype::Float: return at::kFloat;
    case pth::StorageDtype::BFloat16: return at::kBFloat16;
    case pth::StorageDtype::Half: return at::kHalf;
    case pth::StorageDtype::Double: return at::kDouble;
    case pth::StorageDtype::Long: return at::kLong;
    case pth::StorageDtype::Int: return at::kInt;
    case pth::StorageDtype::Byte: return at::kByte;
    case pth::StorageDtype::Bool: return at::kBool;
  }
  return at::kFloat;
}

// The folder torch.save puts every record in ("<archive>/"), named as libtorch's reader
// names it: by the directory's first entry.
std::string archive_folder(const ZipDirectory& directory) {
  if (directory.entries().empty()) return "";
  const std::string& first = directory.entries().front().name;
  return first.substr(0, first.find('/') + 1);
}

// The storages of one archive, each read once and shared by its views.
class StorageTable {
 public:
  StorageTable(caffe2::serialize::PyTorchStreamReader& reader, const ZipDirectory& directory, const std::string& path)
      : reader_(reader), directory_(directory), path_(path) {}

  at::Tensor get(const pth::StorageRef& ref, const std::string& tensor_name) {
    auto found = storages_.find(ref.key);
    if (found != storages_.end()) {
      const at::Tensor& s = found->second;
      if (s.scalar_type() != scalar_type(ref.dtype) || s.numel() != ref.numel)
        throw Error(path_ + ": tensor '" + tensor_name + "' reads storage '" + ref.key + "' as " +
                    std::to_string(ref.numel) + " " + pth::storage_dtype_name(ref.dtype) +
                    " elements, another tensor as " + std::to_string(s.numel()) + " " +
                    std::string(c10::toString(s.scalar_type())));
      return s;
    }
    const std::string record = "data/" + ref.key;
    const ZipEntry* entry = directory_.find(archive_folder(directory_) + record);
    if (!entry || !reader_.hasRecord(record))
      throw Error(path_ + ": storage '" + ref.key + "' of tensor '" + tensor_name + "' is missing from the archive");
    // Compared before reading: libtorch unpacks a record at whatever size it declares.
    const auto check_size = [&](uint64_t bytes) {
      size_t expected = 0;
      if (__builtin_mul_overflow(static_cast<size_t>(ref.numel), pth::storage_element_size(ref.dtype), &expected) ||
          bytes != expected)
        throw Error(path_ + ": storage '" + ref.key + "' of tensor '" + tensor_name + "' (record '" + entry->name +
                    "') has " + std::to_string(bytes) + " bytes, expected " + std::to_string(expected) + " (" +
                    std::to_string(ref.numel) + " x " + pth::storage_dtype_name(ref.dtype) + ")");
    };
    check_size(entry->uncompressed_size);
    auto [data, bytes] = reader_.getRecord(record);
    check_size(bytes);
    const auto options = at::TensorOptions().dtype(scalar_type(ref.dtype));
    at::Tensor storage;
    if (ref.numel == 0) {
      storage = at::empty({0}, options);
    } else {
      // The tensor aliases the record's buffer and keeps it alive.
      auto owner = std::make_shared<at::DataPtr>(std::move(data));
      storage = at::from_blob(
          owner->get(), {ref.numel}, [owner](void*) {}, options);
    }
    storages_.emplace(ref.key, storage);
    return storage;
  }

 private:
  caffe2::serialize::PyTorchStreamReader& reader_;
  const ZipDirectory& directory_;
  std::string path_;
  std::map<std::string, at::Tensor> storages_;
};

std::vector<pth::TensorRecord> read_records(caffe2::serialize::PyTorchStreamReader& reader, const std::string& path) {
  if (!reader.hasRecord("data.pkl"))
    throw Error(path + ": zip archive without data.pkl; not a checkpoint written by torch.save");
  if (reader.hasRecord("byteorder")) {
    auto [order, n] = reader.getRecord("byteorder");
    const std::string value(static_cast<const char*>(order.get()), n);
    if (value != "little")
      throw Error(path + ": storages are saved " + value + "-endian; only little-endian files are supported");
  }
  auto [pickle, pickle_size] = reader.getRecord("data.pkl");
  return pth::read_state_dict_pickle(static_cast<const uint8_t*>(pickle.get()), pickle_size, path + " (data.pkl)");
}

// libtorch reads these records whole, before any of our checks can see them: the version
// string (on opening) and the pickle. torch.save's are a few bytes and well under a
// megabyte (a pickle names each tensor once), so anything much larger is refused unread.
void check_whole_records(const ZipDirectory& directory, const std::string& path) {
  constexpr uint64_t kMaxVersionBytes = 64, kMaxPickleBytes = uint64_t{32} << 20;
  const std::string folder = archive_folder(directory);
  const std::pair<std::string, uint64_t> limits[] = {
      {"version", kMaxVersionBytes}, {".data/version", kMaxVersionBytes}, {"data.pkl", kMaxPickleBytes}};
  for (const auto& [name, limit] : limits) {
    const ZipEntry* entry = directory.find(folder + name);
    if (entry && entry->uncompressed_size > limit)
      throw Error(path + ": its record '" + entry->name + "' unpacks to " + std::to_string(entry->uncompressed_size) +
                  " bytes, more than the " + std::to_string(limit) + " a torch.save checkpoint's " + name +
                  " can hold; refusing to unpack it");
  }
}

const char* const kResaveHint = "files from torch.save before PyTorch 1.6 must be re-saved with a newer torch";

// Runs `read` on the archive, libtorch's zip errors turned into one wan::Error. The zip
// directory is checked first: libtorch's reader unpacks records (the version record on
// opening) before any size can be compared.
template <typename Read>
auto with_archive(const std::string& path, Read read) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error("checkpoint '" + path + "' does not exist or is not a file");
  char magic[4] = {};
  std::ifstream(path, std::ios::binary).read(magic, sizeof magic);
  if (std::string(magic, sizeof magic) != std::string("PK\x03\x04", 4))
    throw Error(path + ": not a readable torch.save zip archive (no zip header at its start); " + kResaveHint);
  const ZipDirectory directory(path);
  check_whole_records(directory, path);
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    return read(reader, directory);
  } catch (const c10::Error& e) {
    // The zip layer reports with libtorch's own (long) messages; keep the first line.
    const std::string what = e.what_without_backtrace();
    throw Error(path + ": not a readable torch.save zip archive (" + what.substr(0, what.find('\n')) + "); " +
                kResaveHint);
  } catch (const std::logic_error& e) {
    // The reader parses the version record with std::stoull (std::out_of_range past 2^64).
    throw Error(path + ": not a readable torch.save zip archive (" + e.what() + " on its version record)");
  }
}

}  // namespace

TensorMap load_pth(const std::string& path, const std::string& prefix) {
  return with_archive(path, [&](caffe2::serialize::PyTorchStreamReader& reader, const ZipDirectory& directory) {
    StorageTable storages(reader, directory, path);
    TensorMap tensors;
    for (const auto& r : read_records(reader, path)) {
      if (r.name.compare(0, prefix.size(), prefix) != 0) continue;  // only the storages asked for are read
      at::Tensor storage = storages.get(r.storage, r.name);
      tensors[r.name.substr(prefix.size())] = storage.as_strided(r.sizes, r.strides, r.storage_offset);
    }
    return tensors;
  });
}

std::vector<std::string> pth_tensor_names(const std::string& path) {
  return with_archive(path, [&](caffe2::serialize::PyTorchStreamReader& reader, const ZipDirectory&) {
    std::vector<std::string> names;
    for (const auto& r : read_records(reader, path)) names.push_back(r.name);
    return names;
  });
}

}  // namespace wan
