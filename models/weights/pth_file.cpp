#include "models/weights/pth_file.h"

#include <filesystem>
#include <memory>
#include <stdexcept>

#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include "models/common/error.h"
#include "models/weights/pth_pickle.h"

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

// The storages of one archive, each read once and shared by its views.
class StorageTable {
 public:
  StorageTable(caffe2::serialize::PyTorchStreamReader& reader, const std::string& path)
      : reader_(reader), path_(path) {}

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
    if (!reader_.hasRecord(record))
      throw Error(path_ + ": storage '" + ref.key + "' of tensor '" + tensor_name + "' is missing from the archive");
    auto [data, bytes] = reader_.getRecord(record);
    size_t expected = 0;
    if (__builtin_mul_overflow(static_cast<size_t>(ref.numel), pth::storage_element_size(ref.dtype), &expected) ||
        bytes != expected)
      throw Error(path_ + ": storage '" + ref.key + "' of tensor '" + tensor_name + "' has " + std::to_string(bytes) +
                  " bytes, expected " + std::to_string(expected) + " (" + std::to_string(ref.numel) + " x " +
                  pth::storage_dtype_name(ref.dtype) + ")");
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

// Runs `read` on the archive, libtorch's zip errors turned into one wan::Error.
template <typename Read>
auto with_archive(const std::string& path, Read read) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error("checkpoint '" + path + "' does not exist or is not a file");
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    return read(reader);
  } catch (const c10::Error& e) {
    // The zip layer reports with libtorch's own (long) messages; keep the first line.
    const std::string what = e.what_without_backtrace();
    throw Error(path + ": not a readable torch.save zip archive (" + what.substr(0, what.find('\n')) +
                "); files from torch.save before PyTorch 1.6 must be re-saved with a newer torch");
  } catch (const std::logic_error& e) {
    // The reader parses the version record with std::stoull (std::out_of_range past 2^64).
    throw Error(path + ": not a readable torch.save zip archive (" + e.what() + " on its version record)");
  }
}

}  // namespace

TensorMap load_pth(const std::string& path, const std::string& prefix) {
  return with_archive(path, [&](caffe2::serialize::PyTorchStreamReader& reader) {
    StorageTable storages(reader, path);
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
  return with_archive(path, [&](caffe2::serialize::PyTorchStreamReader& reader) {
    std::vector<std::string> names;
    for (const auto& r : read_records(reader, path)) names.push_back(r.name);
    return names;
  });
}

}  // namespace wan
