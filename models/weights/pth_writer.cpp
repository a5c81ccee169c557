#include "models/weights/pth_writer.h"

#include <cstdint>
#include <cstring>

#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include "models/common/error.h"

namespace wan {
namespace {

const char* storage_class(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "FloatStorage";
    case at::kBFloat16: return "BFloat16Storage";
    case at::kHalf: return "HalfStorage";
    case at::kDouble: return "DoubleStorage";
    case at::kLong: return "LongStorage";
    case at::kInt: return "IntStorage";
    case at::kByte: return "ByteStorage";
    case at::kBool: return "BoolStorage";
    default: return nullptr;
  }
}

// Just the pickle protocol-2 opcodes a state_dict needs.
class PickleWriter {
 public:
  PickleWriter() { out_ += "\x80\x02"; }
  void global(const std::string& module, const std::string& name) { out_ += "c" + module + "\n" + name + "\n"; }
  void mark() { out_ += '('; }
  void tuple() { out_ += 't'; }
  void empty_tuple() { out_ += ')'; }
  void empty_dict() { out_ += '}'; }
  void reduce() { out_ += 'R'; }
  void persistent_id() { out_ += 'Q'; }
  void setitems() { out_ += 'u'; }
  void boolean(bool v) { out_ += v ? '\x88' : '\x89'; }
  void stop() { out_ += '.'; }
  void string(const std::string& s) {
    out_ += 'X';
    append_le(static_cast<uint32_t>(s.size()), 4);
    out_ += s;
  }
  void integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      out_ += 'J';
      append_le(static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
    } else {
      out_ += '\x8a';  // LONG1: 8 little-endian two's-complement bytes
      out_ += '\x08';
      append_le(static_cast<uint64_t>(v), 8);
    }
  }
  const std::string& bytes() const { return out_; }

 private:
  void append_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  std::string out_;
};

// An OrderedDict of name -> tensor, each tensor with its own storage (appended to `storages`).
void write_state_dict(PickleWriter& p, const TensorMap& tensors, std::vector<at::Tensor>& storages) {
  p.global("collections", "OrderedDict");
  p.empty_tuple();
  p.reduce();
  p.mark();
  for (const auto& [name, tensor] : tensors) {
    const char* cls = storage_class(tensor.scalar_type());
    if (!cls)
      throw Error("save_pth: tensor '" + name + "' has unsupported dtype " + c10::toString(tensor.scalar_type()));
    const at::Tensor data = tensor.to(at::kCPU).contiguous();
    const std::string key = std::to_string(storages.size());
    storages.push_back(data);

    p.string(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.mark();
    p.mark();  // persistent id: ('storage', class, key, location, numel)
    p.string("storage");
    p.global("torch", cls);
    p.string(key);
    p.string("cpu");
    p.integer(data.numel());
    p.tuple();
    p.persistent_id();
    p.integer(0);  // storage offset
    p.mark();
    for (int64_t s : data.sizes()) p.integer(s);
    p.tuple();
    p.mark();
    for (int64_t s : data.strides()) p.integer(s);
    p.tuple();
    p.boolean(false);  // requires_grad
    p.global("collections", "OrderedDict");
    p.empty_tuple();
    p.reduce();  // backward hooks
    p.tuple();
    p.reduce();
  }
  p.setitems();
}

void write_archive(const std::string& path, PickleWriter& p, const std::vector<at::Tensor>& storages) {
  p.stop();
  try {
    caffe2::serialize::PyTorchStreamWriter writer(path);
    writer.writeRecord("data.pkl", p.bytes().data(), p.bytes().size());
    for (size_t i = 0; i < storages.size(); ++i)
      writer.writeRecord("data/" + std::to_string(i), storages[i].data_ptr(), storages[i].nbytes());
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    throw Error("cannot write " + path + ": " + e.what_without_backtrace());
  }
}

}  // namespace

void save_pth(const std::string& path, const TensorMap& tensors) {
  std::vector<at::Tensor> storages;
  PickleWriter p;
  write_state_dict(p, tensors, storages);
  write_archive(path, p, storages);
}

void save_pth_dicts(const std::string& path, const std::map<std::string, TensorMap>& dicts) {
  std::vector<at::Tensor> storages;
  PickleWriter p;
  p.empty_dict();
  p.mark();
  for (const auto& [key, tensors] : dicts) {
    p.string(key);
    write_state_dict(p, tensors, storages);
  }
  p.setitems();
  write_archive(path, p, storages);
}

}  // namespace wan
