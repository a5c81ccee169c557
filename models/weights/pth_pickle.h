// Strict reader of the pickle that torch.save writes for a state_dict (the
// data.pkl record of a .pth zip archive). Nothing in the pickle is executed:
// only the opcodes and globals a state_dict needs are understood, everything
// else is rejected with a wan::Error naming the source and the byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace wan::pth {

// The typed storage classes torch.save names (torch.FloatStorage, ...).
enum class StorageDtype { Float, BFloat16, Half, Double, Long, Int, Byte, Bool };

std::size_t storage_element_size(StorageDtype dtype);
const char* storage_dtype_name(StorageDtype dtype);

// One persistent storage: the raw bytes live in the archive record data/<key>.
struct StorageRef {
  std::string key;
  StorageDtype dtype = StorageDtype::Float;
  int64_t numel = 0;     // in elements of dtype
  std::string location;  // where it was saved from ("cpu", "cuda:0"); informative
};

// A tensor of the state_dict: a strided view of one storage. The view is
// checked to lie inside the storage's numel.
struct TensorRecord {
  std::string name;
  StorageRef storage;
  int64_t storage_offset = 0;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
};

// Parses a state_dict pickle (an OrderedDict of name -> tensor) in file order. Dicts
// nested in it (training checkpoints: {"generator": state_dict, ...}) are flattened, their
// tensors named "outer.inner".
// `source` names the data for error messages (e.g. "x.pth (archive/data.pkl)").
std::vector<TensorRecord> read_state_dict_pickle(const uint8_t* data, std::size_t size, const std::string& source);

}  // namespace wan::pth
