// cuDNN's fp8 attention (cuda/fp8_attention.h) against exact attention in float64, per head,
// on the cases of tests/unit/attention_accuracy.h; plus the errors a user gets where it cannot
// run. The GPU parts are skipped (exit 77) where it is unavailable.
//
// The bounds are those of cuDNN's fp8 SDPA as measured (tests/bench/RESULTS.md), with a
// margin: its output is e4m3 on Hopper (bf16 output is Blackwell-only), which alone costs
// about 2.5e-2 relative L2, and Q K^T in e4m3 puts logit noise of ~5% of their spread on
// sharp rows. Issue #20's goal (3e-2, cosine 0.999 per head) is not met by this path; the
// int8 kernel's test (test_int8_attention.cpp) holds that one to it.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cstdio>
#include <string>
#include <vector>

#include "models/cuda/fp8_attention.h"
#include "tests/unit/attention_accuracy.h"
#include "tests/unit/check.h"

namespace {

// The bounds at logits of standard deviation up to 1 and up to 6, and with channel offsets.
constexpr wan::test::AccuracyBounds kModerate{8e-2, 0.997}, kSharp{1.5e-1, 0.99}, kOffsets{5e-3, 0.99999};

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
  // A device that wrongly claims support would crash the GPU parts: stop at the failure.
  if (wan::test::failures() != 0) return wan::test::check_exit("test-fp8-attention");
  std::string why;
  if (!wan::cuda::fp8_attention_available(at::Device(at::kCUDA, 0), &why)) {
    std::printf("GPU parts skipped: %s\n", why.c_str());
    return 77;
  }
  wan::test::check_attention_accuracy(
      [](const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const std::vector<int64_t>& lens) {
        return wan::cuda::fp8_attention(q, k, v, lens);
      },
      kModerate, kSharp, kOffsets);
  return wan::test::check_exit("test-fp8-attention");
}
