#include "models/dit/in_process_communicator.h"

#include <string>

#include "models/common/error.h"

namespace wan::dit {

struct InProcessCommunicatorGroup::Shared {
  explicit Shared(int64_t world) : world(world), slots(world, std::vector<at::Tensor>(world)), barrier(world) {}

  const int64_t world;
  // slots[src][dst]: what rank src sends to rank dst in the current collective. Each
  // rank only writes its own row, so the slots need no lock beyond the barrier.
  std::vector<std::vector<at::Tensor>> slots;
  ReusableBarrier barrier;
};

namespace {

class InProcessCommunicator : public Communicator {
 public:
  InProcessCommunicator(std::shared_ptr<InProcessCommunicatorGroup::Shared> shared, int64_t rank)
      : shared_(std::move(shared)), rank_(rank) {}

  int64_t rank() const override { return rank_; }
  int64_t world_size() const override { return shared_->world; }

  std::vector<at::Tensor> all_to_all(std::vector<at::Tensor> send) override {
    const int64_t world = shared_->world;
    if (static_cast<int64_t>(send.size()) != world)
      throw Error("all_to_all: rank " + std::to_string(rank_) + " gave " + std::to_string(send.size()) +
                  " tensors, expected one per rank (" + std::to_string(world) + ")");
    for (int64_t j = 0; j < world; ++j)
      if (!send[j].defined())
        throw Error("all_to_all: rank " + std::to_string(rank_) + " gave an undefined tensor for rank " +
                    std::to_string(j));
    const at::Device own_device = send[rank_].device();

    shared_->slots[rank_] = std::move(send);
    shared_->barrier.arrive_and_wait();
    std::vector<at::Tensor> received(world);
    for (int64_t src = 0; src < world; ++src)
      received[src] = shared_->slots[src][rank_].to(at::TensorOptions().device(own_device), /*non_blocking=*/false,
                                                    /*copy=*/true);
    // Nobody may refill the slots before every rank has copied what it was sent.
    shared_->barrier.arrive_and_wait();
    shared_->slots[rank_].assign(world, at::Tensor());
    return received;
  }

  at::Tensor all_gather_cat(const at::Tensor& tensor, int64_t dim) override {
    if (!tensor.defined()) throw Error("all_gather_cat: rank " + std::to_string(rank_) + " gave an undefined tensor");
    return at::cat(all_to_all(std::vector<at::Tensor>(shared_->world, tensor)), dim);
  }

 private:
  std::shared_ptr<InProcessCommunicatorGroup::Shared> shared_;
  const int64_t rank_;
};

}  // namespace

InProcessCommunicatorGroup::InProcessCommunicatorGroup(int64_t world_size) {
  if (world_size < 1)
    throw Error("communicator group: world size must be at least 1, got " + std::to_string(world_size));
  shared_ = std::make_shared<Shared>(world_size);
  for (int64_t r = 0; r < world_size; ++r) ranks_.push_back(std::make_unique<InProcessCommunicator>(shared_, r));
}

InProcessCommunicatorGroup::~InProcessCommunicatorGroup() = default;

int64_t InProcessCommunicatorGroup::world_size() const { return shared_->world; }

Communicator& InProcessCommunicatorGroup::rank(int64_t rank) {
  if (rank < 0 || rank >= shared_->world)
    throw Error("communicator group: rank " + std::to_string(rank) + " outside [0, " + std::to_string(shared_->world) +
                ")");
  return *ranks_[rank];
}

}  // namespace wan::dit
