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

// A built graph for one shape on one device, with the tensors its variant pack is keyed by.
struct Plan {
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

int current_device() {
  int device = 0;
  check_cuda(cudaGetDevice(&device), "cudaGetDevice");
  return device;
}

// A device's cuDNN handle and built plans, for the process: a handle must not be used by two
// threads at once, and a handle per thread would lose its plans with its thread (live mode
// prepares its stream on one thread and generates on another). Devices do not wait for each
// other. Never destroyed: a handle outliving the CUDA context at exit would be destroyed after it.
struct DeviceState {
  std::mutex mutex;  // what follows, and every use of the handle
  cudnnHandle_t handle = nullptr;
  std::vector<std::unique_ptr<Plan>> plans;
};

// The current device's state, locked.
struct LockedDevice {
  DeviceState& state;
  std::lock_guard<std::mutex> lock;
  explicit LockedDevice(DeviceState& s) : state(s), lock(s.mutex) {}
};

DeviceState& current_device_state() {
  static std::mutex mutex;
  static auto* states = new std::unordered_map<int, std::unique_ptr<DeviceState>>;
  const int device = current_device();
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<DeviceState>& state = (*states)[device];
  if (!state) state = std::make_unique<DeviceState>();
  return *state;
}

// The plan for `shape` on the locked device, built on first use (also when unsupported).
Plan& plan_for(LockedDevice& device, const Fp8SdpaShape& shape) {
  DeviceState& st = device.state;
  if (!st.handle) {
    const cudnnStatus_t status = cudnnCreate(&st.handle);
    if (status != CUDNN_STATUS_SUCCESS) {
      st.handle = nullptr;
      throw Error(std::string("fp8 attention: cudnnCreate failed: ") + cudnnGetErrorString(status));
    }
  }
  for (const auto& plan : st.plans)
    if (plan->shape == shape) return *plan;
  auto plan = std::make_unique<Plan>();
  plan->shape = shape;
  build(*plan, st.handle);
  st.plans.push_back(std::move(plan));
  return *st.plans.back();
}

}  // namespace

bool fp8_sdpa_supported(const Fp8SdpaShape& shape, std::string* why) {
  LockedDevice device(current_device_state());
  const Plan& plan = plan_for(device, shape);
  if (why) *why = plan.unsupported;
  return plan.unsupported.empty();
}

int64_t fp8_sdpa_workspace_bytes(const Fp8SdpaShape& shape) {
  LockedDevice device(current_device_state());
  const Plan& plan = plan_for(device, shape);
  if (!plan.unsupported.empty()) throw Error("fp8 attention unavailable: " + plan.unsupported);
  return plan.workspace;
}

void fp8_sdpa(const Fp8SdpaShape& shape, const Fp8SdpaBuffers& b, cudaStream_t stream) {
  // Held through the launch (asynchronous: the lock is not held while the GPU runs it).
  LockedDevice device(current_device_state());
  Plan& plan = plan_for(device, shape);
  cudnnHandle_t handle = device.state.handle;
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
