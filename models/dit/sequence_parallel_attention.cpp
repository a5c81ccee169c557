#include "models/dit/sequence_parallel_attention.h"

#include <string>
#include <vector>

#include "models/common/error.h"
#include "models/dit/attention.h"
#include "models/dit/sequence_parallel_layout.h"

namespace wan::dit {
namespace {

// [B, L_local, heads, d] per rank -> [B, L_total, heads / world, d]: this rank's head group of all tokens.
at::Tensor tokens_to_heads(Communicator& comm, const at::Tensor& x) {
  return gather_sequence(comm.all_to_all(split_heads_for_ranks(x, comm.world_size())));
}

// Inverse of tokens_to_heads.
at::Tensor heads_to_tokens(Communicator& comm, const at::Tensor& x) {
  return merge_heads_from_ranks(comm.all_to_all(split_sequence(x, comm.world_size())));
}

}  // namespace

at::Tensor sequence_parallel_attention(Communicator& comm, const at::Tensor& q, const at::Tensor& k,
                                       const at::Tensor& v, const at::Tensor& k_lens) {
  if (!q.defined() || !k.defined() || !v.defined() || q.dim() != 4 || q.sizes() != k.sizes() || q.sizes() != v.sizes())
    throw Error("sequence_parallel_attention: expected q, k, v of one shape [B, L_local, heads, head_dim]");
  const int64_t world = comm.world_size();
  const int64_t heads = q.size(2);
  const at::Tensor out = attention(tokens_to_heads(comm, pad_heads_to_multiple(q, world)),
                                   tokens_to_heads(comm, pad_heads_to_multiple(k, world)),
                                   tokens_to_heads(comm, pad_heads_to_multiple(v, world)), k_lens);
  return heads_to_tokens(comm, out).slice(2, 0, heads);
}

}  // namespace wan::dit
