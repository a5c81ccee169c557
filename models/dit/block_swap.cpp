#include "models/dit/block_swap.h"

#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/module.h>

#include <algorithm>
#include <map>

#ifdef WAN_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include "models/common/error.h"

namespace wan::dit {
namespace {

// Each shared buffer starts on this boundary, so every dtype view of it is aligned.
constexpr int64_t kAlignment = 256;

int64_t round_up(int64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

#ifdef WAN_WITH_CUDA
struct BlockSwapper::CudaSync {
  explicit CudaSync(c10::DeviceIndex device) : copy_stream(c10::cuda::getStreamFromPool(false, device)) {}
  c10::cuda::CUDAStream copy_stream;
  std::array<at::cuda::CUDAEvent, kSlots> copied;  // recorded on the copy stream after a slot's copy
  std::array<at::cuda::CUDAEvent, kSlots> freed;   // recorded on the compute stream after a slot's block
};
#else
struct BlockSwapper::CudaSync {};
#endif

BlockSwapper::HostBlock BlockSwapper::plan(torch::nn::Module& block, bool pinned) {
  HostBlock host;
  std::map<const c10::StorageImpl*, int64_t> start_of;  // byte offset of each shared buffer
  int64_t bytes = 0;
  auto place = [&](const at::Tensor& t) {
    if (!t.defined()) return;
    const auto [it, fresh] = start_of.emplace(t.storage().unsafeGetStorageImpl(), bytes);
    if (fresh) bytes += round_up(static_cast<int64_t>(t.storage().nbytes()));
    host.tensors.push_back(TensorPlace{t, t.scalar_type(), t.sizes().vec(), t.strides().vec(),
                                       it->second / static_cast<int64_t>(t.element_size()) + t.storage_offset()});
  };
  for (const auto& p : block.parameters()) place(p);
  for (const auto& b : block.buffers()) place(b);
  host.buffer = at::empty({std::max(bytes, kAlignment)}, at::TensorOptions().dtype(at::kByte).pinned_memory(pinned));
  return host;
}

namespace {

at::Tensor view_in(const at::Tensor& buffer, at::ScalarType dtype, at::IntArrayRef sizes, at::IntArrayRef strides,
                   int64_t offset) {
  return buffer.view(dtype).as_strided(sizes, strides, offset);
}

}  // namespace

BlockSwapper::BlockSwapper(const torch::nn::ModuleList& blocks, const at::Device& device) : device_(device) {
  if (blocks->size() == 0) throw Error("block swap: the model has no blocks");
#ifdef WAN_WITH_CUDA
  if (device_.is_cuda()) {
    if (!device_.has_index()) device_ = at::Device(at::kCUDA, c10::cuda::current_device());
    cuda_ = std::make_unique<CudaSync>(device_.index());
  }
#endif
  if (!device_.is_cpu() && !cuda_)
    throw Error("block swap streams to a CUDA device or the CPU, not " + device_.str() +
                " (or this libtorch has no CUDA)");

  // Buffers, slots and their views are the same kind of tensor as the modules' own.
  const auto params = blocks->parameters();
  inference_ = !params.empty() && params[0].is_inference();
  c10::InferenceMode same_kind(inference_);
  torch::NoGradGuard no_grad;
  for (const auto& block : *blocks) {
    HostBlock host = plan(*block, device_.is_cuda());
    for (const TensorPlace& p : host.tensors)
      view_in(host.buffer, p.dtype, p.sizes, p.strides, p.offset).copy_(p.tensor);
    point_at(host, host.buffer);  // the module's own copies (on the device or not) are released here
    slot_bytes_ = std::max<int64_t>(slot_bytes_, host.buffer.numel());
    host_.push_back(std::move(host));
  }
  allocate_slots();
}

void BlockSwapper::allocate_slots() {
  for (at::Tensor& slot : slots_) slot = at::empty({slot_bytes_}, at::TensorOptions().dtype(at::kByte).device(device_));
#ifdef WAN_WITH_CUDA
  // The allocator orders its memory for the compute stream only: work queued there may still
  // read what the slots' memory last held, so the copy stream waits for it before writing.
  if (cuda_)
    for (at::cuda::CUDAEvent& freed : cuda_->freed) freed.record(c10::cuda::getCurrentCUDAStream(device_.index()));
#endif
}

void BlockSwapper::free_slots() {
  if (leased_slot_ >= 0) throw Error("block swap: the slots cannot be freed while a block is leased");
  if (!slots_allocated()) return;
#ifdef WAN_WITH_CUDA
  // A prefetch may still be writing into a slot; the allocator knows nothing of that stream.
  if (cuda_) cuda_->copy_stream.synchronize();
#endif
  for (at::Tensor& slot : slots_) slot.reset();
  slot_block_.fill(-1);
}

BlockSwapper::~BlockSwapper() {
#ifdef WAN_WITH_CUDA
  // A prefetch may still be writing into a slot the caching allocator is about to reuse.
  if (cuda_) cuda_->copy_stream.synchronize();
#endif
}

int64_t BlockSwapper::host_bytes() const {
  int64_t total = 0;
  for (const HostBlock& h : host_) total += h.buffer.numel();
  return total;
}

void BlockSwapper::point_at(const HostBlock& block, const at::Tensor& buffer) {
  for (const TensorPlace& p : block.tensors) {
    at::Tensor tensor = p.tensor;  // the same TensorImpl as the module's
    tensor.set_data(view_in(buffer, p.dtype, p.sizes, p.strides, p.offset));
  }
}

int BlockSwapper::slot_holding(size_t block) const {
  for (int s = 0; s < kSlots; ++s)
    if (slot_block_[s] == static_cast<int64_t>(block)) return s;
  return -1;
}

void BlockSwapper::copy_to_slot(size_t block, int slot) {
  const at::Tensor& source = host_[block].buffer;
  at::Tensor target = slots_[slot].narrow(0, 0, source.numel());
  slot_block_[slot] = static_cast<int64_t>(block);
#ifdef WAN_WITH_CUDA
  if (cuda_) {
    c10::cuda::CUDAStreamGuard on_copy_stream(cuda_->copy_stream);
    cuda_->freed[slot].block(cuda_->copy_stream);  // the slot's previous block has run
    target.copy_(source, /*non_blocking=*/true);
    cuda_->copied[slot].record(cuda_->copy_stream);
    return;
  }
#endif
  target.copy_(source);
}

BlockSwapper::Lease BlockSwapper::lease(size_t index) {
  if (index >= host_.size())
    throw Error("block swap: block " + std::to_string(index) + " of " + std::to_string(host_.size()));
  if (failed_) throw Error("block swap: the device failed while releasing a block; load the model again");
  if (leased_slot_ >= 0) throw Error("block swap: a block is still leased; blocks run one at a time");
  c10::InferenceMode same_kind(inference_);
  torch::NoGradGuard no_grad;
  if (!slots_allocated()) allocate_slots();
  int slot = slot_holding(index);
  if (slot < 0) {
    slot = (last_slot_ + 1) % kSlots;
    copy_to_slot(index, slot);
  }
#ifdef WAN_WITH_CUDA
  if (cuda_) cuda_->copied[slot].block(c10::cuda::getCurrentCUDAStream(device_.index()));
#endif
  point_at(host_[index], slots_[slot]);
  leased_slot_ = last_slot_ = slot;
  const size_t next = (index + 1) % host_.size();
  if (slot_holding(next) < 0) copy_to_slot(next, (slot + 1) % kSlots);
  return Lease(this, index);
}

void BlockSwapper::host_copies_changed() {
  if (leased_slot_ >= 0) throw Error("block swap: the weights changed while a block was leased");
  // A copy still queued keeps its order on the copy stream: the next one into that slot
  // waits for it there.
  slot_block_.fill(-1);
}

void BlockSwapper::release(size_t index) {
  c10::InferenceMode same_kind(inference_);
  torch::NoGradGuard no_grad;
#ifdef WAN_WITH_CUDA
  if (cuda_) cuda_->freed[leased_slot_].record(c10::cuda::getCurrentCUDAStream(device_.index()));
#endif
  leased_slot_ = -1;
  point_at(host_[index], host_[index].buffer);
}

BlockSwapper::Lease::~Lease() {
  if (!owner_) return;
  try {
    owner_->release(block_);
  } catch (...) {
    owner_->failed_ = true;  // the slot may still be in use: never lease again
  }
}

}  // namespace wan::dit
