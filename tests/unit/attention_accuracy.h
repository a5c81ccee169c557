// The accuracy cases an 8-bit attention must pass against exact attention in float64, per head
// (relative L2 and cosine): random q / k / v, peaked rows (q scaled so softmax rows are sharp),
// keys and values with large per-channel offsets, padded keys, and the 1.3B models' 12 heads
// at a length no multiple of a kernel's tiles. Shared by the tests of each implementation.
#pragma once
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "tests/unit/check.h"

namespace wan::test {

// q [B, Lq, H, D], k / v [B, Lk, H, D], key lengths (empty: all) -> [B, Lq, H, D].
using AttentionFn =
    std::function<at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, const std::vector<int64_t>&)>;

struct AccuracyBounds {
  double max_rel_l2, min_cosine;
};

// softmax(q k^T / sqrt(d)) v in float64, keys past key_lengths[b] dropped; [B, Lq, H, D].
inline at::Tensor exact_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                  const std::vector<int64_t>& lens) {
  std::vector<at::Tensor> out;
  for (int64_t b = 0; b < q.size(0); ++b) {
    const int64_t n = lens.empty() ? k.size(1) : lens[b];
    const at::Tensor qh = q[b].to(at::kDouble).transpose(0, 1);  // [H, Lq, D]
    const at::Tensor kh = k[b].slice(0, 0, n).to(at::kDouble).transpose(0, 1);
    const at::Tensor vh = v[b].slice(0, 0, n).to(at::kDouble).transpose(0, 1);
    const at::Tensor w = at::softmax(at::matmul(qh, kh.transpose(1, 2)) / std::sqrt(double(q.size(3))), -1);
    out.push_back(at::matmul(w, vh).transpose(0, 1));
  }
  return at::stack(out);
}

// One case: the worst head's relative L2 and cosine, printed and checked against the bounds.
inline void check_attention_case(const AttentionFn& attend, const std::string& name, const AccuracyBounds& bounds,
                                 const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                 const std::vector<int64_t>& lens = {}) {
  const at::Tensor got = attend(q, k, v, lens);
  EXPECT(got.scalar_type() == at::kBFloat16 && got.sizes() == q.sizes());
  const at::Tensor want = exact_attention(q, k, v, lens);
  double rel_l2 = 0, cosine = 1;
  for (int64_t b = 0; b < got.size(0); ++b)
    for (int64_t h = 0; h < got.size(2); ++h) {
      const at::Tensor x = got[b].select(1, h).to(at::kDouble).flatten(), y = want[b].select(1, h).flatten();
      rel_l2 = std::max(rel_l2, ((x - y).norm() / y.norm()).item<double>());
      cosine = std::min(cosine, (x.dot(y) / (x.norm() * y.norm())).item<double>());
    }
  std::printf("%-40s worst head: rel. L2 %.3e, cosine %.6f\n", name.c_str(), rel_l2, cosine);
  EXPECT_MSG(rel_l2 <= bounds.max_rel_l2, name + ": rel. L2 " + std::to_string(rel_l2));
  EXPECT_MSG(cosine >= bounds.min_cosine, name + ": cosine " + std::to_string(cosine));
}

// Every case on the CUDA device: `moderate` bounds rows with logits of standard deviation up to
// 1 (random, padded, 12 heads), `sharp` those up to 6, `offsets` keys and values shifted per
// channel by several times their spread (what the mean shifts are for).
inline void check_attention_accuracy(const AttentionFn& attend, const AccuracyBounds& moderate,
                                     const AccuracyBounds& sharp, const AccuracyBounds& offsets) {
  const auto bf = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  at::manual_seed(0);
  const int64_t B = 1, L = 4096, H = 4, D = 128;
  const at::Tensor q = at::randn({B, L, H, D}, bf), k = at::randn({B, L, H, D}, bf), v = at::randn({B, L, H, D}, bf);
  check_attention_case(attend, "random", moderate, q, k, v);
  for (double scale : {2.0, 4.0, 6.0})
    check_attention_case(attend, "peaked, logit std " + std::to_string(int(scale)), sharp, q * scale, k, v);
  const at::Tensor k_offset = at::randn({1, 1, H, D}, bf) * 4, v_offset = at::randn({1, 1, H, D}, bf) * 4;
  check_attention_case(attend, "keys and values with channel offsets", offsets, q, k + k_offset, v + v_offset);
  // Two samples, the second's last keys padding (the first's all real).
  const at::Tensor q2 = at::randn({2, 1000, H, D}, bf), k2 = at::randn({2, 1200, H, D}, bf),
                   v2 = at::randn({2, 1200, H, D}, bf);
  check_attention_case(attend, "padded keys", moderate, q2, k2, v2, {1200, 700});
  const at::Tensor q3 = at::randn({1, 4680, 12, D}, bf), k3 = at::randn({1, 4680 * 3, 12, D}, bf),
                   v3 = at::randn({1, 4680 * 3, 12, D}, bf);
  check_attention_case(attend, "12 heads, 4680 queries, 14040 keys", moderate, q3, k3, v3);
}

}  // namespace wan::test
