// Block swap, for devices smaller than the DiT: each transformer block's weights live in one
// host buffer (pinned when the device is CUDA, so copies run asynchronously) and only two
// blocks occupy the device, in two slots: the block computing and the next one, whose copy
// runs on a side stream while the current block computes.
//
// Ordering (CUDA): lease(i) makes the compute stream wait for the event recorded after block
// i's copy, then queues the copy of block i+1 on the copy stream behind the event recorded
// when the last block that used the other slot was queued; ending a lease records that event.
// The host never waits for the device.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace wan::dit {

class BlockSwapper {
 public:
  // Moves the parameters and buffers of every module of `blocks` into host buffers (where
  // they stay between leases) and allocates the two slots on `device`. Tensors that share a
  // buffer (the fused q, k, v) keep sharing one in the host copy and in the slots.
  BlockSwapper(const torch::nn::ModuleList& blocks, const at::Device& device);
  ~BlockSwapper();
  BlockSwapper(const BlockSwapper&) = delete;
  BlockSwapper& operator=(const BlockSwapper&) = delete;

  // While a lease lives, its block's tensors are views into the slot holding its weights (on
  // the device's current stream they are ready); when it ends they point back at the host
  // copy, and the slot is reused once the work queued meanwhile has run.
  class Lease {
   public:
    Lease() = default;  // no block (the model runs without block swap)
    Lease(Lease&& other) noexcept : owner_(other.owner_), block_(other.block_) { other.owner_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

   private:
    friend class BlockSwapper;
    Lease(BlockSwapper* owner, size_t block) : owner_(owner), block_(block) {}
    BlockSwapper* owner_ = nullptr;
    size_t block_ = 0;
  };

  // Block `index` in a slot; starts copying the block after it (after the last one: block 0,
  // so the next forward pass starts without waiting). One lease at a time.
  Lease lease(size_t index);

  // Gives the slots' device memory back until the next lease (which allocates them again and
  // copies its block without a prefetch): for the phases after a denoise (the VAE decode).
  // Not while a lease lives.
  void free_slots();

  // The host copies of the blocks changed (run-time LoRA strengths): blocks already in a slot,
  // or on their way to one, are copied again at their next lease. Not while a lease lives.
  void host_copies_changed();

  const at::Device& device() const { return device_; }
  size_t num_blocks() const { return host_.size(); }
  int64_t slot_bytes() const { return slot_bytes_; }  // device memory of one slot (while allocated)
  bool slots_allocated() const { return slots_[0].defined(); }
  int64_t host_bytes() const;  // host memory of all blocks

 private:
  static constexpr int kSlots = 2;

  // Where one parameter or buffer of a block lies in the block's buffer.
  struct TensorPlace {
    at::Tensor tensor;  // shares the module's TensorImpl: set_data re-points the module's tensor
    at::ScalarType dtype;
    std::vector<int64_t> sizes, strides;
    int64_t offset;  // in elements of dtype from the buffer's start
  };
  struct HostBlock {
    at::Tensor buffer;  // uint8: the block's tensors back to back
    std::vector<TensorPlace> tensors;
  };
  struct CudaSync;  // the copy stream and the per-slot events (CUDA builds only)

  // Lays out the block's tensors in one new host buffer (values not copied yet).
  static HostBlock plan(torch::nn::Module& block, bool pinned);
  void point_at(const HostBlock& block, const at::Tensor& buffer);
  int slot_holding(size_t block) const;
  void copy_to_slot(size_t block, int slot);
  void release(size_t block);
  void allocate_slots();

  at::Device device_;
  std::vector<HostBlock> host_;
  std::array<at::Tensor, kSlots> slots_;  // undefined while freed (free_slots)
  int64_t slot_bytes_ = 0;                 // the largest block's buffer
  std::array<int64_t, kSlots> slot_block_{{-1, -1}};  // the block each slot holds or receives
  int leased_slot_ = -1;                              // the slot of the live lease
  int last_slot_ = kSlots - 1;                        // the slot of the last lease
  bool failed_ = false;                               // a release failed: slots may be in use
  bool inference_ = false;                            // the blocks' tensors are inference tensors
  std::unique_ptr<CudaSync> cuda_;                    // null on the CPU
};

}  // namespace wan::dit
