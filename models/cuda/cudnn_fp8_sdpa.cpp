#include "models/cuda/cudnn_fp8_sdpa.h"

#include <cudnn.h>
#include <cudnn_frontend.h>

#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "models/common/error.h"

namespace wan::cuda {
namespace {

namespace fe = cudnn_frontend;
using TensorPtr = std::shared_ptr<fe::graph::Tensor_attributes>;

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw Error(std::string("fp8 attention: ") + what + ": " + cudaGetErrorString(status));
}

// One cuDNN handle per device for the process, used under State's lock: a handle must not be
// used by two threads at once, and one handle per thread would lose its plans with its
// thread (live mode prepares its stream on one thread and generates on another).
class DeviceHandles {
 public:
  cudnnHandle_t get(int device) {
    auto it = handles_.find(device);
    if (it != handles_.end()) return it->second;
    cudnnHandle_t handle = nullptr;
    const cudnnStatus_t status = cudnnCreate(&handle);
    if (status != CUDNN_STATUS_SUCCESS)
      throw Error(std::string("fp8 attention: cudnnCreate failed: ") + cudnnGetErrorString(status));
    handles_.emplace(device, handle);
    return handle;
  }

 private:
  std::unordered_map<int, cudnnHandle_t> handles_;
};

// A built graph for one shape on one device, with the tensors its variant pack is keyed by.
struct Plan {
  int device = -1;
  Fp8SdpaShape shape;
  std::string unsupported;  // why cuDNN refused; empty when the plan is ready
  fe::graph::Graph graph;
  TensorPtr q, k, v, o, descale_q, descale_k, descale_v, descale_s, scale_s, scale_o, amax_s, amax_o, seq_q, seq_kv;
  int64_t workspace = 0;
};

TensorPtr scalar(fe::graph::Graph& graph, const char* name) {
  return graph.tensor(fe::graph::Tensor_attributes()
                          .set_name(name)
                          .set_dim({1, 1, 1, 1})
                          .set_stride({1, 1, 1, 1})
                          .set_data_type(fe::DataType_t::FLOAT));
}

// [batch, heads, len, head_dim] over memory laid out [batch, len, heads, head_dim].
std::pair<std::vector<int64_t>, std::vector<int64_t>> bshd(const Fp8SdpaShape& s, int64_t len) {
  return {{s.batch, s.heads, len, s.head_dim}, {len * s.heads * s.head_dim, s.head_dim, s.heads * s.head_dim, 1}};
}

void build(Plan& p, cudnnHandle_t handle) {
  const Fp8SdpaShape& s = p.shape;
  fe::graph::Graph& g = p.graph;
  g.set_io_data_type(fe::DataType_t::FP8_E4M3)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  const auto [q_dim, q_stride] = bshd(s, s.q_len);
  const auto [kv_dim, kv_stride] = bshd(s, s.kv_len);
  p.q = g.tensor(fe::graph::Tensor_attributes().set_name("Q").set_dim(q_dim).set_stride(q_stride));
  p.k = g.tensor(fe::graph::Tensor_attributes().set_name("K").set_dim(kv_dim).set_stride(kv_stride));
  p.v = g.tensor(fe::graph::Tensor_attributes().set_name("V").set_dim(kv_dim).set_stride(kv_stride));
  p.descale_q = scalar(g, "Descale_Q");
  p.descale_k = scalar(g, "Descale_K");
  p.descale_v = scalar(g, "Descale_V");
  p.descale_s = scalar(g, "Descale_S");
  p.scale_s = scalar(g, "Scale_S");
  p.scale_o = scalar(g, "Scale_O");
  auto options = fe::graph::SDPA_fp8_attributes()
                     .set_name("sdpa_fp8")
                     .set_generate_stats(false)
                     .set_causal_mask(false)
                     .set_attn_scale(s.attn_scale);
  if (s.key_lengths) {
    auto lengths = [&](const char* name) {
      return g.tensor(fe::graph::Tensor_attributes()
                          .set_name(name)
                          .set_dim({s.batch, 1, 1, 1})
                          .set_stride({1, 1, 1, 1})
                          .set_data_type(fe::DataType_t::INT32));
    };
    p.seq_q = lengths("seq_q");
    p.seq_kv = lengths("seq_kv");
    options.set_padding_mask(true).set_seq_len_q(p.seq_q).set_seq_len_kv(p.seq_kv);
  }
  auto [o, stats, amax_s, amax_o] =
      g.sdpa_fp8(p.q, p.k, p.v, p.descale_q, p.descale_k, p.descale_v, p.descale_s, p.scale_s, p.scale_o, options);
  (void)stats;
  p.o = o;
  p.amax_s = amax_s;
  p.amax_o = amax_o;
  p.o->set_output(true).set_dim(q_dim).set_stride(q_stride);
  for (const TensorPtr& amax : {p.amax_s, p.amax_o})
    amax->set_output(true).set_dim({1, 1, 1, 1}).set_stride({1, 1, 1, 1}).set_data_type(fe::DataType_t::FLOAT);

  fe::error_t status = g.validate();
  if (status.is_good()) status = g.build_operation_graph(handle);
  if (status.is_good()) status = g.create_execution_plans({fe::HeurMode_t::A});
  if (status.is_good()) status = g.check_support(handle);
  if (status.is_good()) status = g.build_plans(handle);
  if (status.is_good()) status = g.get_workspace_size(p.workspace);
  if (!status.is_good()) p.unsupported = "cuDNN " + std::to_string(cudnnGetVersion()) + ": " + status.get_message();
}

// The process's handles and built plans. Never destroyed: handles outliving the CUDA
// context at exit would be destroyed after it.
struct State {
  std::mutex mutex;  // what follows, and every use of a handle
  DeviceHandles handles;
  std::vector<std::unique_ptr<Plan>> plans;
};

State& state() {
  static State* state = new State;
  return *state;
}

int current_device() {
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

// The plan for `shape` on the current device, built on first use (also when unsupported);
// the caller holds state().mutex.
Plan& plan_for(const Fp8SdpaShape& shape, cudnnHandle_t* handle_out = nullptr) {
  const int device = current_device();
  State& st = state();
  cudnnHandle_t handle = st.handles.get(device);
  if (handle_out) *handle_out = handle;
  for (const auto& plan : st.plans)
    if (plan->device == device && plan->shape == shape) return *plan;
  auto plan = std::make_unique<Plan>();
  plan->device = device;
  plan->shape = shape;
  build(*plan, handle);
  st.plans.push_back(std::move(plan));
  return *st.plans.back();
}

}  // namespace

bool fp8_sdpa_supported(const Fp8SdpaShape& shape, std::string* why) {
  std::lock_guard<std::mutex> lock(state().mutex);
  const Plan& plan = plan_for(shape);
  if (why) *why = plan.unsupported;
  return plan.unsupported.empty();
}

int64_t fp8_sdpa_workspace_bytes(const Fp8SdpaShape& shape) {
  std::lock_guard<std::mutex> lock(state().mutex);
  const Plan& plan = plan_for(shape);
  if (!plan.unsupported.empty()) throw Error("fp8 attention unavailable: " + plan.unsupported);
  return plan.workspace;
}

void fp8_sdpa(const Fp8SdpaShape& shape, const Fp8SdpaBuffers& b, cudaStream_t stream) {
  // Held through the launch (asynchronous: the lock is not held while the GPU runs it).
  std::lock_guard<std::mutex> lock(state().mutex);
  cudnnHandle_t handle = nullptr;
  Plan& plan = plan_for(shape, &handle);
  if (!plan.unsupported.empty()) throw Error("fp8 attention unavailable: " + plan.unsupported);
  if (shape.key_lengths && (!b.q_lengths || !b.kv_lengths))
    throw Error("fp8 attention: key lengths asked for without their buffers");
  const cudnnStatus_t set = cudnnSetStream(handle, stream);
  if (set != CUDNN_STATUS_SUCCESS)
    throw Error(std::string("fp8 attention: cudnnSetStream: ") + cudnnGetErrorString(set));
  auto mut = [](const void* p) { return const_cast<void*>(p); };
  std::unordered_map<TensorPtr, void*> pack = {
      {plan.q, mut(b.q)},
      {plan.k, mut(b.k)},
      {plan.v, mut(b.v)},
      {plan.o, b.o},
      {plan.descale_q, mut(b.descale_q)},
      {plan.descale_k, mut(b.descale_k)},
      {plan.descale_v, mut(b.descale_v)},
      {plan.descale_s, mut(b.descale_s)},
      {plan.scale_s, mut(b.scale_s)},
      {plan.scale_o, mut(b.scale_o)},
      {plan.amax_s, b.amax_s},
      {plan.amax_o, b.amax_o},
  };
  if (shape.key_lengths) {
    pack.emplace(plan.seq_q, mut(b.q_lengths));
    pack.emplace(plan.seq_kv, mut(b.kv_lengths));
  }
  fe::error_t status = plan.graph.execute(handle, pack, b.workspace);
  if (!status.is_good()) throw Error("fp8 attention: cuDNN execute failed: " + status.get_message());
}

}  // namespace wan::cuda
