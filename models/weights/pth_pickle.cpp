#include "models/weights/pth_pickle.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>
#include <utility>

#include "models/common/error.h"

namespace wan::pth {

std::size_t storage_element_size(StorageDtype dtype) {
  switch (dtype) {
    case StorageDtype::Float: return 4;
    case StorageDtype::BFloat16: return 2;
    case StorageDtype::Half: return 2;
    case StorageDtype::Double: return 8;
    case StorageDtype::Long: return 8;
    case StorageDtype::Int: return 4;
    case StorageDtype::Byte: return 1;
    case StorageDtype::Bool: return 1;
  }
  return 1;
}

const char* storage_dtype_name(StorageDtype dtype) {
  switch (dtype) {
    case StorageDtype::Float: return "float32";
    case StorageDtype::BFloat16: return "bfloat16";
    case StorageDtype::Half: return "float16";
    case StorageDtype::Double: return "float64";
    case StorageDtype::Long: return "int64";
    case StorageDtype::Int: return "int32";
    case StorageDtype::Byte: return "uint8";
    case StorageDtype::Bool: return "bool";
  }
  return "?";
}

namespace {

// Opcodes of pickle protocol 2 (plus the two protocol-4 ones torch may emit)
// that a state_dict uses.
namespace op {
constexpr uint8_t PROTO = 0x80, STOP = '.', MARK = '(', EMPTY_DICT = '}', EMPTY_LIST = ']', EMPTY_TUPLE = ')',
                  BINUNICODE = 'X', SHORT_BINUNICODE = 0x8c, BININT = 'J', BININT1 = 'K', BININT2 = 'M', LONG1 = 0x8a,
                  BINFLOAT = 'G', NEWFALSE = 0x89, NEWTRUE = 0x88, NONE = 'N', TUPLE = 't', TUPLE1 = 0x85,
                  TUPLE2 = 0x86, TUPLE3 = 0x87, SETITEM = 's', SETITEMS = 'u', APPEND = 'a', APPENDS = 'e',
                  BINPUT = 'q', LONG_BINPUT = 'r', BINGET = 'h', LONG_BINGET = 'j', MEMOIZE = 0x94, GLOBAL = 'c',
                  REDUCE = 'R', BUILD = 'b', BINPERSID = 'Q';
}

// The only callables / classes a state_dict pickle may name.
enum class Callable { OrderedDict, RebuildTensorV2, RebuildParameter, Device, StorageType };

enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

using NodeId = std::size_t;

// A tensor view as _rebuild_tensor_v2 describes it.
struct TensorView {
  StorageRef storage;
  int64_t storage_offset = 0;
  std::vector<int64_t> sizes, strides;
  std::size_t made_at = 0;  // byte offset of the REDUCE that built it
};

// A pickled value. Nodes live in one arena and refer to each other by index,
// so the reference cycles a hostile pickle can build cost nothing to free.
// Bulky payloads sit in side arenas indexed by `payload`.
struct Node {
  Kind kind = Kind::None;
  int64_t integer = 0;        // Int, Bool
  double real = 0.0;          // Float
  std::string text;           // String; Global: "module.name"
  std::vector<NodeId> items;  // Tuple, List; Dict: key0, value0, key1, value1, ...
  std::size_t payload = 0;    // Dict: dict_keys_; Global: globals_; Storage: storages_; Tensor: tensors_
};

struct GlobalRef {
  Callable callable = Callable::OrderedDict;
  StorageDtype storage_dtype = StorageDtype::Float;  // for Callable::StorageType
};

class Unpickler {
 public:
  Unpickler(const uint8_t* data, std::size_t size, const std::string& source)
      : data_(data), size_(size), source_(source) {}

  std::vector<TensorRecord> run() {
    while (true) {
      op_pos_ = pos_;
      const uint8_t code = read_u8();
      if (code == op::STOP) break;
      execute(code);
    }
    if (pos_ != size_) fail("data after the STOP opcode");
    if (!marks_.empty() || stack_.size() != 1)
      fail("unbalanced pickle: " + std::to_string(stack_.size()) + " values and " + std::to_string(marks_.size()) +
           " marks left at STOP");
    return state_dict(stack_.back());
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { fail_at(op_pos_, what); }
  [[noreturn]] void fail_at(std::size_t offset, const std::string& what) const {
    throw Error(source_ + ": byte " + std::to_string(offset) + ": " + what);
  }

  // ---- raw input ------------------------------------------------------
  const uint8_t* take(std::size_t n) {
    if (n > size_ - pos_)
      fail("truncated pickle: needs " + std::to_string(n) + " more bytes, " + std::to_string(size_ - pos_) + " left");
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint8_t read_u8() { return *take(1); }
  uint64_t read_le(std::size_t n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= uint64_t(p[i]) << (8 * i);
    return v;
  }
  std::string read_string(std::size_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string read_line() {
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (!nl) fail("truncated pickle: GLOBAL name without end of line");
    const std::size_t n = static_cast<const uint8_t*>(nl) - (data_ + pos_);
    std::string line = read_string(n);
    pos_ += 1;
    return line;
  }

  // ---- value stack ----------------------------------------------------
  NodeId make(Kind kind) {
    nodes_.emplace_back();
    nodes_.back().kind = kind;
    if (kind == Kind::Dict) {
      nodes_.back().payload = dict_keys_.size();
      dict_keys_.emplace_back();
    }
    return nodes_.size() - 1;
  }
  NodeId make_int(int64_t v) {
    NodeId id = make(Kind::Int);
    nodes_[id].integer = v;
    return id;
  }
  std::size_t frame_base() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(NodeId id) { stack_.push_back(id); }
  NodeId pop() {
    if (stack_.size() <= frame_base()) fail("stack underflow");
    NodeId id = stack_.back();
    stack_.pop_back();
    return id;
  }
  NodeId top() const {
    if (stack_.size() <= frame_base()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<NodeId> pop_to_mark() {
    if (marks_.empty()) fail("opcode needs a MARK but none is open");
    const std::size_t base = marks_.back();
    marks_.pop_back();
    std::vector<NodeId> items(stack_.begin() + base, stack_.end());
    stack_.resize(base);
    return items;
  }
  NodeId make_tuple(std::vector<NodeId> items) {
    NodeId id = make(Kind::Tuple);
    nodes_[id].items = std::move(items);
    return id;
  }
  Node& expect(NodeId id, Kind kind, const char* role) {
    if (nodes_[id].kind != kind)
      fail(std::string(role) + " must be a " + kind_name(kind) + ", got a " + kind_name(nodes_[id].kind));
    return nodes_[id];
  }

  // ---- memo -----------------------------------------------------------
  void memo_put(uint64_t index) { memo_[index] = top(); }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo index " + std::to_string(index) + " was never stored");
    push(it->second);
  }

  // ---- containers -----------------------------------------------------
  void dict_set(NodeId dict_id, NodeId key, NodeId value) {
    Node& dict = expect(dict_id, Kind::Dict, "SETITEM target");
    if (nodes_[key].kind == Kind::String) {
      auto& keys = dict_keys_[dict.payload];
      auto found = keys.find(nodes_[key].text);
      if (found != keys.end()) {
        dict.items[found->second + 1] = value;  // Python: last assignment wins
        return;
      }
      keys.emplace(nodes_[key].text, dict.items.size());
    }
    dict.items.push_back(key);
    dict.items.push_back(value);
  }
  void list_append(NodeId list_id, const std::vector<NodeId>& values) {
    Node& list = expect(list_id, Kind::List, "APPEND target");
    list.items.insert(list.items.end(), values.begin(), values.end());
  }

  // ---- globals and calls ----------------------------------------------
  NodeId make_global(const std::string& module, const std::string& name) {
    static const std::map<std::string, StorageDtype> storage_types = {
        {"FloatStorage", StorageDtype::Float}, {"BFloat16Storage", StorageDtype::BFloat16},
        {"HalfStorage", StorageDtype::Half},   {"DoubleStorage", StorageDtype::Double},
        {"LongStorage", StorageDtype::Long},   {"IntStorage", StorageDtype::Int},
        {"ByteStorage", StorageDtype::Byte},   {"BoolStorage", StorageDtype::Bool},
    };
    GlobalRef g;
    if (module == "collections" && name == "OrderedDict") {
      g.callable = Callable::OrderedDict;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      g.callable = Callable::RebuildTensorV2;
    } else if (module == "torch._utils" && name == "_rebuild_parameter") {
      g.callable = Callable::RebuildParameter;
    } else if (module == "torch" && name == "device") {
      g.callable = Callable::Device;
    } else if (module == "torch" && storage_types.count(name)) {
      g.callable = Callable::StorageType;
      g.storage_dtype = storage_types.at(name);
    } else {
      fail("global '" + module + "." + name +
           "' is not allowed in a state_dict (only OrderedDict, tensor rebuild "
           "functions, torch storage types and torch.device are)");
    }
    NodeId id = make(Kind::Global);
    nodes_[id].text = module + "." + name;
    nodes_[id].payload = globals_.size();
    globals_.push_back(g);
    return id;
  }

  // Values copied out of memoised ones (sizes, strides, storage names) count against a budget
  // proportional to the pickle: a small hostile pickle that fetches one long tuple or string
  // from the memo again and again would otherwise grow without bound.
  void charge(std::size_t bytes) {
    materialised_ += bytes;
    const std::size_t budget = std::max<std::size_t>(std::size_t{64} << 20, 64 * size_);
    if (materialised_ > budget)
      fail("the pickle expands to more than " + std::to_string(budget >> 20) +
           " MiB of tensor metadata (a corrupt or hostile file)");
  }

  std::vector<int64_t> int_tuple(NodeId id, const char* role) {
    const Node& t = expect(id, Kind::Tuple, role);
    charge(t.items.size() * sizeof(int64_t));
    std::vector<int64_t> values;
    for (NodeId item : t.items) values.push_back(expect(item, Kind::Int, role).integer);
    return values;
  }

  NodeId call(NodeId callable_id, NodeId args_id) {
    // Copies, not references: make() below may move the arena.
    const std::string name = expect(callable_id, Kind::Global, "REDUCE callable").text;
    const GlobalRef callable = globals_[nodes_[callable_id].payload];
    const std::vector<NodeId> args = expect(args_id, Kind::Tuple, "REDUCE arguments").items;
    const auto arity = [&](std::size_t lo, std::size_t hi) {
      if (args.size() < lo || args.size() > hi)
        fail(name + " called with " + std::to_string(args.size()) + " arguments, expected " + std::to_string(lo) +
             (hi != lo ? " to " + std::to_string(hi) : std::string()));
    };
    switch (callable.callable) {
      case Callable::OrderedDict: arity(0, 0); return make(Kind::Dict);
      case Callable::Device: {
        arity(1, 2);
        std::string device = expect(args[0], Kind::String, "torch.device type").text;
        if (args.size() == 2) device += ":" + std::to_string(expect(args[1], Kind::Int, "torch.device index").integer);
        NodeId id = make(Kind::String);
        nodes_[id].text = std::move(device);
        return id;
      }
      case Callable::RebuildParameter:
        // (data, requires_grad, backward_hooks): the parameter is its data
        arity(3, 3);
        expect(args[0], Kind::Tensor, "_rebuild_parameter data");
        return args[0];
      case Callable::RebuildTensorV2: {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        arity(6, 7);
        TensorView view;
        view.storage = storages_[expect(args[0], Kind::Storage, "tensor storage").payload];
        view.storage_offset = expect(args[1], Kind::Int, "tensor storage offset").integer;
        view.sizes = int_tuple(args[2], "tensor size");
        view.strides = int_tuple(args[3], "tensor stride");
        view.made_at = op_pos_;
        if (view.sizes.size() != view.strides.size())
          fail("tensor has " + std::to_string(view.sizes.size()) + " sizes but " + std::to_string(view.strides.size()) +
               " strides");
        NodeId id = make(Kind::Tensor);
        nodes_[id].payload = tensors_.size();
        tensors_.push_back(std::move(view));
        return id;
      }
      case Callable::StorageType: break;
    }
    fail(name + " cannot be called in a state_dict pickle");
  }

  NodeId persistent_load(NodeId pid_id) {
    // ('storage', StorageType, key, location, numel)
    const std::vector<NodeId> pid = expect(pid_id, Kind::Tuple, "persistent id").items;
    if (pid.size() != 5 || nodes_[pid[0]].kind != Kind::String || nodes_[pid[0]].text != "storage")
      fail("persistent id is not a ('storage', type, key, location, numel) tuple");
    const GlobalRef type = globals_[expect(pid[1], Kind::Global, "storage type").payload];
    if (type.callable != Callable::StorageType) fail(nodes_[pid[1]].text + " is not a storage type");
    StorageRef ref;
    ref.dtype = type.storage_dtype;
    ref.key = expect(pid[2], Kind::String, "storage key").text;
    ref.location = expect(pid[3], Kind::String, "storage location").text;
    charge(ref.key.size() + ref.location.size());
    ref.numel = expect(pid[4], Kind::Int, "storage size").integer;
    if (ref.numel < 0) fail("storage '" + ref.key + "' has negative size");
    NodeId id = make(Kind::Storage);
    nodes_[id].payload = storages_.size();
    storages_.push_back(std::move(ref));
    return id;
  }

  void build(NodeId target_id, NodeId state_id) {
    // OrderedDict carries its per-module `_metadata` (state_dict versions) as an
    // attribute; it does not affect the tensors.
    const Node& target = nodes_[target_id];
    const Node& state = nodes_[state_id];
    if (target.kind != Kind::Dict || state.kind != Kind::Dict)
      fail(std::string("BUILD of a ") + kind_name(target.kind) + " with a " + kind_name(state.kind) +
           " state is not supported");
    for (std::size_t i = 0; i < state.items.size(); i += 2) {
      const Node& key = nodes_[state.items[i]];
      if (key.kind != Kind::String || key.text != "_metadata")
        fail("BUILD may only set the state_dict's _metadata attribute");
    }
  }

  // ---- dispatch -------------------------------------------------------
  void execute(uint8_t code) {
    switch (code) {
      case op::PROTO: {
        const uint8_t version = read_u8();
        if (version < 2 || version > 5) fail("unsupported pickle protocol " + std::to_string(version));
        break;
      }
      case op::MARK: marks_.push_back(stack_.size()); break;
      case op::EMPTY_DICT: push(make(Kind::Dict)); break;
      case op::EMPTY_LIST: push(make(Kind::List)); break;
      case op::EMPTY_TUPLE: push(make_tuple({})); break;
      case op::NONE: push(make(Kind::None)); break;
      case op::NEWTRUE:
      case op::NEWFALSE: {
        NodeId id = make(Kind::Bool);
        nodes_[id].integer = code == op::NEWTRUE;
        push(id);
        break;
      }
      case op::BININT: push(make_int(static_cast<int32_t>(read_le(4)))); break;
      case op::BININT1: push(make_int(read_le(1))); break;
      case op::BININT2: push(make_int(read_le(2))); break;
      case op::LONG1: {
        const std::size_t n = read_u8();
        if (n > 8) fail("integer of " + std::to_string(n) + " bytes is too large");
        uint64_t v = read_le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t(0) << (8 * n);  // sign
        push(make_int(static_cast<int64_t>(v)));
        break;
      }
      case op::BINFLOAT: {
        const uint8_t* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];  // big-endian
        double v;
        std::memcpy(&v, &bits, sizeof v);
        NodeId id = make(Kind::Float);
        nodes_[id].real = v;
        push(id);
        break;
      }
      case op::BINUNICODE:
      case op::SHORT_BINUNICODE: {
        const std::size_t n = read_le(code == op::BINUNICODE ? 4 : 1);
        NodeId id = make(Kind::String);
        nodes_[id].text = read_string(n);
        push(id);
        break;
      }
      case op::TUPLE: push(make_tuple(pop_to_mark())); break;
      case op::TUPLE1:
      case op::TUPLE2:
      case op::TUPLE3: {
        std::vector<NodeId> items(code - op::TUPLE1 + 1);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        push(make_tuple(std::move(items)));
        break;
      }
      case op::SETITEM: {
        NodeId value = pop();
        NodeId key = pop();
        dict_set(top(), key, value);
        break;
      }
      case op::SETITEMS: {
        std::vector<NodeId> items = pop_to_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of values");
        NodeId dict = top();
        for (std::size_t i = 0; i < items.size(); i += 2) dict_set(dict, items[i], items[i + 1]);
        break;
      }
      case op::APPEND: {
        NodeId value = pop();
        list_append(top(), {value});
        break;
      }
      case op::APPENDS: {
        std::vector<NodeId> values = pop_to_mark();
        list_append(top(), values);
        break;
      }
      case op::BINPUT: memo_put(read_le(1)); break;
      case op::LONG_BINPUT: memo_put(read_le(4)); break;
      case op::MEMOIZE: memo_put(memo_.size()); break;
      case op::BINGET: memo_get(read_le(1)); break;
      case op::LONG_BINGET: memo_get(read_le(4)); break;
      case op::GLOBAL: {
        const std::string module = read_line();
        const std::string name = read_line();
        push(make_global(module, name));
        break;
      }
      case op::REDUCE: {
        NodeId args = pop();
        NodeId callable = pop();
        push(call(callable, args));
        break;
      }
      case op::BUILD: {
        NodeId state = pop();
        build(top(), state);
        break;
      }
      case op::BINPERSID: push(persistent_load(pop())); break;
      default: {
        static const char hex[] = "0123456789abcdef";
        fail(std::string("pickle opcode 0x") + hex[code >> 4] + hex[code & 15] +
             " is not part of a torch.save state_dict");
      }
    }
  }

  // ---- result ---------------------------------------------------------
  void check_view(const TensorView& tensor, const std::string& name) const {
    const auto bad = [&](const std::string& what) { fail_at(tensor.made_at, "tensor '" + name + "': " + what); };
    if (tensor.storage_offset < 0) bad("negative storage offset");
    int64_t last = tensor.storage_offset;  // index of the last element
    bool empty = false;
    for (std::size_t d = 0; d < tensor.sizes.size(); ++d) {
      if (tensor.sizes[d] < 0) bad("negative size");
      if (tensor.strides[d] < 0) bad("negative stride");
      if (tensor.sizes[d] == 0) empty = true;
    }
    if (empty) return;
    for (std::size_t d = 0; d < tensor.sizes.size(); ++d) {
      int64_t span;
      if (__builtin_mul_overflow(tensor.sizes[d] - 1, tensor.strides[d], &span) ||
          __builtin_add_overflow(last, span, &last))
        bad("size x stride overflows");
    }
    if (last >= tensor.storage.numel)
      bad("view (offset " + std::to_string(tensor.storage_offset) + ", last element " + std::to_string(last) +
          ") lies outside its storage '" + tensor.storage.key + "' of " + std::to_string(tensor.storage.numel) +
          " elements");
  }

  std::vector<TensorRecord> state_dict(NodeId root_id) const {
    const Node& root = nodes_[root_id];
    if (root.kind != Kind::Dict)
      fail(std::string("the pickle holds a ") + kind_name(root.kind) +
           ", expected a state_dict (a dict of name -> tensor)");
    std::vector<TensorRecord> records;
    add_entries(root, "", 0, &records);
    return records;
  }

  // The tensors of a dict; a dict inside it (a training checkpoint's {"generator": state_dict,
  // ...}) contributes its tensors as "key.name".
  void add_entries(const Node& dict, const std::string& prefix, int depth, std::vector<TensorRecord>* records) const {
    if (depth > kMaxDictDepth) fail("dicts nested deeper than " + std::to_string(kMaxDictDepth) + " levels");
    for (std::size_t i = 0; i < dict.items.size(); i += 2) {
      const Node& key = nodes_[dict.items[i]];
      const Node& value = nodes_[dict.items[i + 1]];
      if (key.kind != Kind::String)
        fail(std::string("state_dict key is a ") + kind_name(key.kind) + ", expected a str");
      const std::string name = prefix + key.text;
      if (value.kind == Kind::Dict) {
        add_entries(value, name + ".", depth + 1, records);
        continue;
      }
      if (value.kind != Kind::Tensor)
        fail("state_dict entry '" + name + "' is a " + kind_name(value.kind) + ", expected a tensor");
      const TensorView& view = tensors_[value.payload];
      check_view(view, name);
      TensorRecord r;
      r.name = name;
      r.storage = view.storage;
      r.storage_offset = view.storage_offset;
      r.sizes = view.sizes;
      r.strides = view.strides;
      records->push_back(std::move(r));
    }
  }

  static constexpr int kMaxDictDepth = 8;

  const uint8_t* data_;
  std::size_t size_;
  std::string source_;
  std::size_t pos_ = 0;
  std::size_t op_pos_ = 0;
  std::vector<Node> nodes_;
  std::vector<std::map<std::string, std::size_t>> dict_keys_;  // str key -> index in items
  std::vector<GlobalRef> globals_;
  std::vector<StorageRef> storages_;
  std::vector<TensorView> tensors_;
  std::vector<NodeId> stack_;
  std::vector<std::size_t> marks_;  // stack heights at each open MARK
  std::unordered_map<uint64_t, NodeId> memo_;
  std::size_t materialised_ = 0;  // bytes, see charge()
};

}  // namespace

std::vector<TensorRecord> read_state_dict_pickle(const uint8_t* data, std::size_t size, const std::string& source) {
  return Unpickler(data, size, source).run();
}

}  // namespace wan::pth
