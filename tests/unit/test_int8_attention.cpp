// Our 8-bit integer attention kernel (cuda/int8_attention.h) against exact attention in
// float64, per head, on the cases of tests/unit/attention_accuracy.h, held to issue #20's goal
// (relative L2 <= 3e-2 and cosine >= 0.999 per head, on random and on sharp rows); query rows of
// zeros beside padded keys; the same output on every run; and the errors a user gets where it
// cannot run. The GPU parts are skipped (exit 77) where it is unavailable (not a Hopper GPU, or
// a build without CUDA).
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cstdio>
#include <string>
#include <vector>

#include "models/cuda/int8_attention.h"
#include "tests/unit/attention_accuracy.h"
#include "tests/unit/check.h"

namespace {

constexpr wan::test::AccuracyBounds kGoal{3e-2, 0.999}, kOffsets{5e-3, 0.99999};

at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const std::vector<int64_t>& lens) {
  return wan::cuda::int8_attention(q, k, v, lens);
}

// Fewer keys than one tile (a single, masked tile, nothing to prefetch), and key lengths on and
// next to a tile's edge.
void short_and_tile_edge_keys() {
  const auto bf = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  const at::Tensor q = at::randn({1, 200, 2, 128}, bf), k = at::randn({1, 77, 2, 128}, bf),
                   v = at::randn({1, 77, 2, 128}, bf);
  wan::test::check_attention_case(attend, "77 keys", kGoal, q, k, v);
  const at::Tensor k2 = at::randn({3, 300, 2, 128}, bf), v2 = at::randn({3, 300, 2, 128}, bf);
  wan::test::check_attention_case(attend, "key lengths 256, 257, 255 of 300", kGoal, at::randn({3, 200, 2, 128}, bf),
                                  k2, v2, {256, 257, 255});
}

// A query of zeros weighs every real key alike: its output is the mean of their values, the
// padding keys left out.
void zero_queries_beside_padding() {
  const auto bf = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  at::Tensor q = at::randn({1, 300, 2, 128}, bf);
  q.slice(1, 0, 7).zero_();
  const at::Tensor k = at::randn({1, 500, 2, 128}, bf), v = at::randn({1, 500, 2, 128}, bf);
  const at::Tensor got = attend(q, k, v, {333}).slice(1, 0, 7).to(at::kDouble);
  const at::Tensor want = v.slice(1, 0, 333).to(at::kDouble).mean(1, /*keepdim=*/true).expand_as(got);
  const double rel = ((got - want).norm() / want.norm()).item<double>();
  std::printf("%-40s rel. L2 %.3e\n", "zero queries beside padded keys", rel);
  EXPECT_MSG(rel <= 3e-2, "zero queries: rel. L2 " + std::to_string(rel));
}

// The same inputs give the same output to the bit, so a clip generated twice with one seed is the
// same clip: no race between the warpgroups or the stages of the ring, no sum whose order varies.
void same_output_every_run() {
  const auto bf = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  const at::Tensor q = at::randn({1, 4096, 4, 128}, bf), k = at::randn({1, 8192, 4, 128}, bf),
                   v = at::randn({1, 8192, 4, 128}, bf) + 0.37;
  const at::Tensor first = attend(q, k, v, {});
  for (int run = 0; run < 3; ++run) EXPECT_MSG(at::equal(attend(q, k, v, {}), first), "a rerun differs");
}

void refused_where_it_cannot_run() {
  std::string why;
  EXPECT(!wan::cuda::int8_attention_available(at::Device(at::kCPU), &why));
  EXPECT_MSG(why.find("attention") != std::string::npos, why);
  const at::Tensor cpu = at::zeros({1, 16, 2, 128});
  EXPECT_ERROR(wan::cuda::int8_attention(cpu, cpu, cpu), "attention");
}

void refused_bad_shapes() {
  const auto bf = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  const at::Tensor d64 = at::zeros({1, 16, 2, 64}, bf);
  EXPECT_ERROR(attend(d64, d64, d64, {}), "head_dim 64");
  const at::Tensor q = at::zeros({1, 16, 2, 128}, bf);
  EXPECT_ERROR(attend(q, q, q, {17}), "key length 17");
}

}  // namespace

int main() {
  c10::InferenceMode guard;
  refused_where_it_cannot_run();
  // A device that wrongly claims support would crash the GPU parts: stop at the failure.
  if (wan::test::failures() != 0) return wan::test::check_exit("test-int8-attention");
  std::string why;
  if (!wan::cuda::int8_attention_available(at::Device(at::kCUDA, 0), &why)) {
    std::printf("GPU parts skipped: %s\n", why.c_str());
    return 77;
  }
  wan::test::check_attention_accuracy(attend, kGoal, kGoal, kOffsets);
  short_and_tile_edge_keys();
  zero_queries_beside_padding();
  same_output_every_run();
  refused_bad_shapes();
  return wan::test::check_exit("test-int8-attention");
}
