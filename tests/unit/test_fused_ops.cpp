// The fused CUDA kernels against the same math in plain libtorch operators.
// Skipped (exit 77) without a GPU or without our kernels in the build.
#include <cmath>
#include <cstdio>

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include "models/cuda/fused_ops.h"
#include "tests/unit/check.h"

namespace {

double rel_err(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.to(at::kDouble), y = b.to(at::kDouble);
  return ((x - y).norm() / y.norm()).item<double>();
}

void modulated_layer_norm() {
  const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kFloat);
  const at::Tensor x = at::randn({2, 37, 320}, opts) * 3 + 1;
  const at::Tensor shift = at::randn({2, 1, 320}, opts), scale = at::randn({2, 1, 320}, opts);
  const at::Tensor ref = (at::layer_norm(x, {320}, {}, {}, 1e-6) * (1 + scale) + shift).to(at::kBFloat16);
  const at::Tensor got = wan::cuda::modulated_layer_norm(x, shift, scale, 1e-6);
  EXPECT_MSG(rel_err(got, ref) < 4e-3, std::to_string(rel_err(got, ref)));
}

void rms_norm_rope() {
  const int64_t heads = 4, head_dim = 24, dim = heads * head_dim, L = 29;
  const auto opts = at::TensorOptions().device(at::kCUDA);
  const at::Tensor x = at::randn({2, L, dim}, opts).to(at::kBFloat16);
  const at::Tensor w = at::rand({dim}, opts) + 0.5;
  const at::Tensor angles = at::rand({L, head_dim / 2}, opts.dtype(at::kDouble)) * 6.28;
  const at::Tensor cos = angles.cos().to(at::kFloat), sin = angles.sin().to(at::kFloat);
  const at::Tensor valid = at::tensor({L, int64_t(20)}, at::kLong).to(at::kCUDA);

  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor normed = (xf * at::rsqrt(xf.pow(2).mean(-1, true) + 1e-6)).to(at::kBFloat16) * w;
  at::Tensor pairs = normed.to(at::kDouble).view({2, L, heads, head_dim / 2, 2});
  const at::Tensor a = pairs.select(-1, 0), b = pairs.select(-1, 1);
  const at::Tensor cs = angles.cos().view({1, L, 1, head_dim / 2}), sn = angles.sin().view({1, L, 1, head_dim / 2});
  at::Tensor rotated = at::stack({a * cs - b * sn, a * sn + b * cs}, -1).view({2, L, dim});
  // Sample 1 has 20 real tokens: its padding rows are normalised, not rotated.
  rotated[1].slice(0, 20).copy_(normed[1].slice(0, 20).to(at::kDouble));

  const at::Tensor got = wan::cuda::rms_norm_rope(x, w, cos, sin, valid, heads, 1e-6);
  EXPECT_MSG(rel_err(got, rotated) < 4e-3, std::to_string(rel_err(got, rotated)));
}

void gated_residual() {
  const auto opts = at::TensorOptions().device(at::kCUDA);
  at::Tensor x = at::randn({2, 50, 64}, opts);
  const at::Tensor y = at::randn({2, 50, 64}, opts).to(at::kBFloat16), gate = at::randn({2, 1, 64}, opts);
  const at::Tensor ref = x + y.to(at::kFloat) * gate;
  wan::cuda::gated_residual_(x, y, gate);
  EXPECT_MSG(rel_err(x, ref) < 1e-6, std::to_string(rel_err(x, ref)));
}

}  // namespace

int main() {
  if (!wan::cuda::fused_ops_available()) {
    std::printf("this build has no CUDA kernels: skipped\n");
    return 77;
  }
  if (!at::hasCUDA()) {
    std::printf("no GPU: skipped\n");
    return 77;
  }
  modulated_layer_norm();
  rms_norm_rope();
  gated_residual();
  return wan::test::check_exit("test-fused-ops");
}
