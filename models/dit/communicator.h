// The collective operations that sequence parallelism needs between the ranks (one
// rank per GPU). Every rank of a group must call each collective, in the same order;
// a backend (threads of one process now, NCCL later) implements this interface.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace wan::dit {

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int64_t rank() const = 0;
  virtual int64_t world_size() const = 0;

  // send[j] goes to rank j; result[j] is what rank j sent to this rank. Tensors may
  // differ in shape between pairs. Needs exactly world_size() tensors.
  virtual std::vector<at::Tensor> all_to_all(std::vector<at::Tensor> send) = 0;

  // The tensors of all ranks, concatenated along `dim` in rank order.
  virtual at::Tensor all_gather_cat(const at::Tensor& tensor, int64_t dim) = 0;
};

}  // namespace wan::dit
