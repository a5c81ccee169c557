// A Communicator backend for ranks that are threads of one process (one thread per
// GPU, all sharing the weights in memory). Tensors are exchanged by reference through
// shared slots and copied by the receiver onto its own device, so a sender may reuse
// its tensors as soon as the collective returns. A world of 1 is the identity.
#pragma once

#include <memory>
#include <vector>

#include "models/dit/communicator.h"
#include "models/dit/reusable_barrier.h"

namespace wan::dit {

class InProcessCommunicatorGroup {
 public:
  explicit InProcessCommunicatorGroup(int64_t world_size);
  ~InProcessCommunicatorGroup();
  InProcessCommunicatorGroup(const InProcessCommunicatorGroup&) = delete;
  InProcessCommunicatorGroup& operator=(const InProcessCommunicatorGroup&) = delete;

  int64_t world_size() const;
  // The communicator of one rank; give each rank's thread its own.
  Communicator& rank(int64_t rank);

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Communicator>> ranks_;
};

}  // namespace wan::dit
