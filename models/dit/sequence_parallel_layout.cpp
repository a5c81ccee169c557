#include "models/dit/sequence_parallel_layout.h"

#include <string>

#include "models/common/error.h"

namespace wan::dit {
namespace {

void expect_layout(const at::Tensor& x, const char* what) {
  if (!x.defined() || x.dim() != 4)
    throw Error(std::string(what) + ": expected a tensor [B, L, heads, head_dim], got " +
                (x.defined() ? std::to_string(x.dim()) + " dimensions" : std::string("an undefined tensor")));
}

void expect_positive(int64_t n, const char* what) {
  if (n < 1) throw Error(std::string(what) + ": the number of ranks must be at least 1, got " + std::to_string(n));
}

at::Tensor pad_dim_to_multiple(const at::Tensor& x, int64_t dim, int64_t multiple) {
  const int64_t size = x.size(dim);
  const int64_t padded = (size + multiple - 1) / multiple * multiple;
  if (padded == size) return x;
  std::vector<int64_t> shape = x.sizes().vec();
  shape[dim] = padded - size;
  return at::cat({x, at::zeros(shape, x.options())}, dim);
}

std::vector<at::Tensor> split_evenly(const at::Tensor& x, int64_t dim, int64_t world, const char* what,
                                     const char* unit) {
  if (x.size(dim) % world != 0)
    throw Error(std::string(what) + ": " + std::to_string(x.size(dim)) + " " + unit + " do not divide over " +
                std::to_string(world) + " ranks (pad them first)");
  const int64_t part = x.size(dim) / world;
  std::vector<at::Tensor> parts;
  for (int64_t r = 0; r < world; ++r) parts.push_back(x.slice(dim, r * part, (r + 1) * part));
  return parts;
}

at::Tensor concatenate(const std::vector<at::Tensor>& parts, int64_t dim, const char* what) {
  if (parts.empty()) throw Error(std::string(what) + ": no parts to join");
  for (const at::Tensor& p : parts) expect_layout(p, what);
  return at::cat(parts, dim);
}

}  // namespace

at::Tensor pad_tokens_to_multiple(const at::Tensor& x, int64_t multiple) {
  expect_layout(x, "pad_tokens_to_multiple");
  expect_positive(multiple, "pad_tokens_to_multiple");
  return pad_dim_to_multiple(x, 1, multiple);
}

at::Tensor pad_heads_to_multiple(const at::Tensor& x, int64_t multiple) {
  expect_layout(x, "pad_heads_to_multiple");
  expect_positive(multiple, "pad_heads_to_multiple");
  return pad_dim_to_multiple(x, 2, multiple);
}

std::vector<at::Tensor> split_sequence(const at::Tensor& x, int64_t world) {
  expect_layout(x, "split_sequence");
  expect_positive(world, "split_sequence");
  return split_evenly(x, 1, world, "split_sequence", "tokens");
}

at::Tensor gather_sequence(const std::vector<at::Tensor>& slices) { return concatenate(slices, 1, "gather_sequence"); }

std::vector<at::Tensor> split_heads_for_ranks(const at::Tensor& x, int64_t world) {
  expect_layout(x, "split_heads_for_ranks");
  expect_positive(world, "split_heads_for_ranks");
  return split_evenly(x, 2, world, "split_heads_for_ranks", "heads");
}

at::Tensor merge_heads_from_ranks(const std::vector<at::Tensor>& groups) {
  return concatenate(groups, 2, "merge_heads_from_ranks");
}

}  // namespace wan::dit
