// Pure tensor layouts of Ulysses sequence parallelism (no communication), on tensors
// laid out [B, L, heads, head_dim] (tokens in dim 1, heads in dim 2). A rank holds a
// contiguous slice of the tokens; for attention the heads are spread over the ranks.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace wan::dit {

// Zero tokens appended to dim 1 up to a multiple of `multiple` (the world size), so each
// rank gets the same number. The padding must never act as keys: pass the true token
// counts as k_lens, and drop the padded rows after gather_sequence.
at::Tensor pad_tokens_to_multiple(const at::Tensor& x, int64_t multiple);

// Zero heads appended to dim 2 up to a multiple of `multiple`. A zero head attends
// uniformly to zero values and gives zeros, which are dropped again.
at::Tensor pad_heads_to_multiple(const at::Tensor& x, int64_t multiple);

// The world contiguous token slices of x (dim 1 must divide by world); slice r is rank r's.
std::vector<at::Tensor> split_sequence(const at::Tensor& x, int64_t world);
// Inverse of split_sequence: the slices concatenated in rank order.
at::Tensor gather_sequence(const std::vector<at::Tensor>& slices);

// The world contiguous head groups of x (dim 2 must divide by world); group r goes to rank r.
std::vector<at::Tensor> split_heads_for_ranks(const at::Tensor& x, int64_t world);
// Inverse of split_heads_for_ranks: the head groups concatenated in rank order.
at::Tensor merge_heads_from_ranks(const std::vector<at::Tensor>& groups);

}  // namespace wan::dit
