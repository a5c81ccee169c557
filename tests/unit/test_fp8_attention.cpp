// The 8-bit attention (cuda/fp8_attention.h) against exact attention in float64, per head:
// relative L2 and cosine on random q / k / v, on peaked rows (q scaled so softmax rows are
// sharp), on keys and values with large per-channel offsets (what the mean shifts are for),
// with padded keys, and at the 1.3B model's 12 heads; plus the errors a user gets where it
// cannot run. The GPU parts are skipped (exit 77) where it is unavailable.
//
// The bounds are those of cuDNN's fp8 SDPA as measured (tests/bench/RESULTS.md), with a
// margin: its output is e4m3 on Hopper (bf16 output is Blackwell-only), which alone costs
// about 2.5e-2 relative L2, and Q K^T in e4m3 puts logit noise of ~5% of their spread on
// sharp rows. Issue #20's goal (3e-2, cosine 0.999 per head) is not met by this path.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "models/cuda/fp8_attention.h"
#include "tests/unit/check.h"

namespace {

// Per head, on rows of moderate sharpness (logits with a standard deviation up to 1) and on
// sharp ones (up to 6).
struct Bounds {
  double max_rel_l2, min_cosine;
};
constexpr Bounds kModerate{8e-2, 0.997};
constexpr Bounds kSharp{1.5e-1, 0.99};
// Offsets much larger than the spread: the shifts leave e4m3 only the spread to hold.
constexpr Bounds kOffsets{5e-3, 0.99999};

// softmax(q k^T / sqrt(d)) v in float64, keys past key_lengths[b] dropped; [B, Lq, H, D].
at::Tensor exact(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const std::vector<int64_t>& lens) {
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

struct Worst {
  double rel_l2 = 0, cosine = 1;
};

// The worst head's relative L2 and cosine of got against want, [B, L, H, D].
Worst per_head(const at::Tensor& got, const at::Tensor& want) {
  Worst w;
  for (int64_t b = 0; b < got.size(0); ++b)
    for (int64_t h = 0; h < got.size(2); ++h) {
      const at::Tensor x = got[b].select(1, h).to(at::kDouble).flatten(), y = want[b].select(1, h).flatten();
      w.rel_l2 = std::max(w.rel_l2, ((x - y).norm() / y.norm()).item<double>());
      w.cosine = std::min(w.cosine, (x.dot(y) / (x.norm() * y.norm())).item<double>());
    }
  return w;
}

// One case: prints the worst head, checks it against the bounds.
void check_case(const char* name, const Bounds& bounds, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                const std::vector<int64_t>& lens = {}) {
  const at::Tensor got = wan::cuda::fp8_attention(q, k, v, lens);
  EXPECT(got.scalar_type() == at::kBFloat16 && got.sizes() == q.sizes());
  const Worst w = per_head(got, exact(q, k, v, lens));
  std::printf("%-40s worst head: rel. L2 %.3e, cosine %.6f\n", name, w.rel_l2, w.cosine);
  EXPECT_MSG(w.rel_l2 <= bounds.max_rel_l2, std::string(name) + ": rel. L2 " + std::to_string(w.rel_l2));
  EXPECT_MSG(w.cosine >= bounds.min_cosine, std::string(name) + ": cosine " + std::to_string(w.cosine));
}

void accuracy() {
  const auto bf = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  at::manual_seed(0);
  const int64_t B = 1, L = 4096, H = 4, D = 128;
  const at::Tensor q = at::randn({B, L, H, D}, bf), k = at::randn({B, L, H, D}, bf), v = at::randn({B, L, H, D}, bf);
  check_case("random", kModerate, q, k, v);
  // Logits with a standard deviation of 2, 4 and 6 (1 above): sharp rows, few keys each.
  for (double sharp : {2.0, 4.0, 6.0})
    check_case(("peaked, logit std " + std::to_string(int(sharp))).c_str(), kSharp, q * sharp, k, v);
  // Offsets common to all keys (per channel), several times the spread: what e4m3 would spend
  // its range on without the shifts.
  const at::Tensor k_offset = at::randn({1, 1, H, D}, bf) * 4, v_offset = at::randn({1, 1, H, D}, bf) * 4;
  check_case("keys and values with channel offsets", kOffsets, q, k + k_offset, v + v_offset);
  // Two samples, the second's last keys padding (the first's all real).
  const at::Tensor q2 = at::randn({2, 1000, H, D}, bf), k2 = at::randn({2, 1200, H, D}, bf),
                   v2 = at::randn({2, 1200, H, D}, bf);
  check_case("padded keys", kModerate, q2, k2, v2, {1200, 700});
  // The 1.3B models' 12 heads, a length that is no multiple of the kernel's tiles.
  const at::Tensor q3 = at::randn({1, 4680, 12, D}, bf), k3 = at::randn({1, 4680 * 3, 12, D}, bf),
                   v3 = at::randn({1, 4680 * 3, 12, D}, bf);
  check_case("12 heads, 4680 queries, 14040 keys", kModerate, q3, k3, v3);
}

void refused_where_it_cannot_run() {
  std::string why;
  EXPECT(!wan::cuda::fp8_attention_available(at::Device(at::kCPU), &why));
  EXPECT_MSG(why.find("attention") != std::string::npos, why);
  const at::Tensor cpu = at::zeros({1, 16, 2, 128});
  EXPECT_ERROR(wan::cuda::fp8_attention(cpu, cpu, cpu), "attention");
}

}  // namespace

int main() {
  c10::InferenceMode guard;
  refused_where_it_cannot_run();
  std::string why;
  if (wan::test::failures() == 0 && !wan::cuda::fp8_attention_available(at::Device(at::kCUDA, 0), &why)) {
    std::printf("GPU parts skipped: %s\n", why.c_str());
    return 77;
  }
  accuracy();
  return wan::test::check_exit("test-fp8-attention");
}
