// The fused CUDA kernels against the same math in plain libtorch operators.
// Skipped (exit 77) without a GPU or without our kernels in the build.
#include <cmath>
#include <cstdio>

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include "models/cuda/fused_ops.h"
#include "models/cuda/vae_ops.h"
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

  const at::Tensor got = wan::cuda::rms_norm_rope(x, w, cos, sin, valid, L, heads, 1e-6);
  const at::Tensor plain = wan::cuda::rms_norm_rope(x, w, at::Tensor(), at::Tensor(), at::Tensor(), 0, heads, 1e-6);
  EXPECT_MSG(rel_err(plain, normed) < 4e-3, std::to_string(rel_err(plain, normed)));
  EXPECT_MSG(rel_err(got, rotated) < 4e-3, std::to_string(rel_err(got, rotated)));
}

void add_layer_norm_affine() {
  const auto opts = at::TensorOptions().device(at::kCUDA).dtype(at::kFloat);
  const at::Tensor x0 = at::randn({2, 21, 192}, opts), w = at::randn({192}, opts), b = at::randn({192}, opts);
  const at::Tensor y = at::randn({2, 21, 192}, opts).to(at::kBFloat16), gate = at::randn({2, 1, 192}, opts);
  const at::Tensor sum = x0 + y.to(at::kFloat) * gate;
  const at::Tensor ref = at::layer_norm(sum, {192}, w, b, 1e-6).to(at::kBFloat16);
  at::Tensor x = x0.clone();
  const at::Tensor got = wan::cuda::add_layer_norm_affine(x, y, gate, w, b, 1e-6);
  EXPECT_MSG(rel_err(got, ref) < 4e-3, std::to_string(rel_err(got, ref)));
  EXPECT_MSG(rel_err(x, sum) < 1e-6, "x holds the residual sum");
  // Without a gate the add is plain.
  at::Tensor x2 = x0.clone();
  const at::Tensor shift = at::randn({2, 1, 192}, opts), scale = at::randn({2, 1, 192}, opts);
  const at::Tensor plain = x0 + y.to(at::kFloat);
  const at::Tensor ref2 = (at::layer_norm(plain, {192}, {}, {}, 1e-6) * (1 + scale) + shift).to(at::kBFloat16);
  const at::Tensor got2 = wan::cuda::add_modulated_layer_norm(x2, y, at::Tensor(), shift, scale, 1e-6);
  EXPECT_MSG(rel_err(got2, ref2) < 4e-3, std::to_string(rel_err(got2, ref2)));
}

void gated_residual() {
  const auto opts = at::TensorOptions().device(at::kCUDA);
  at::Tensor x = at::randn({2, 50, 64}, opts);
  const at::Tensor y = at::randn({2, 50, 64}, opts).to(at::kBFloat16), gate = at::randn({2, 1, 64}, opts);
  const at::Tensor ref = x + y.to(at::kFloat) * gate;
  wan::cuda::gated_residual_(x, y, gate);
  EXPECT_MSG(rel_err(x, ref) < 1e-6, std::to_string(rel_err(x, ref)));
  // With the bias of the linear layer that made y (the GEMM ran without it).
  const at::Tensor bias = at::randn({64}, opts).to(at::kBFloat16);
  const at::Tensor ref2 = x + (y.to(at::kFloat) + bias.to(at::kFloat)) * gate;
  wan::cuda::gated_residual_(x, y, gate, bias);
  EXPECT_MSG(rel_err(x, ref2) < 1e-6, std::to_string(rel_err(x, ref2)));
}

// The fused kernels that add a linear layer's bias for it: the same as adding it to y first.
void linear_bias_in_fused_kernels() {
  const auto opts = at::TensorOptions().device(at::kCUDA);
  const int64_t heads = 4, dim = 96;
  const at::Tensor y = at::randn({2, 33, dim}, opts).to(at::kBFloat16);
  const at::Tensor bias = at::randn({dim}, opts).to(at::kBFloat16);
  const at::Tensor with_bias = (y.to(at::kFloat) + bias.to(at::kFloat)).to(at::kBFloat16);
  const at::Tensor w = at::rand({dim}, opts) + 0.5, none;
  const at::Tensor ref = wan::cuda::rms_norm_rope(with_bias, w, none, none, none, 0, heads, 1e-6);
  const at::Tensor got = wan::cuda::rms_norm_rope(y, w, none, none, none, 0, heads, 1e-6, bias);
  EXPECT_MSG(rel_err(got, ref) < 1e-6, std::to_string(rel_err(got, ref)));

  const at::Tensor x = at::randn({2, 33, dim}, opts), gate = at::randn({2, 1, dim}, opts);
  const at::Tensor shift = at::randn({2, 1, dim}, opts), scale = at::randn({2, 1, dim}, opts);
  at::Tensor x1 = x.clone(), x2 = x.clone();
  const at::Tensor ref2 = wan::cuda::add_modulated_layer_norm(x1, with_bias, gate, shift, scale, 1e-6);
  const at::Tensor got2 = wan::cuda::add_modulated_layer_norm(x2, y, gate, shift, scale, 1e-6, bias);
  EXPECT_MSG(rel_err(x2, x1) < 4e-3, std::to_string(rel_err(x2, x1)));  // y + bias is not rounded to bf16 here
  EXPECT_MSG(rel_err(got2, ref2) < 4e-3, std::to_string(rel_err(got2, ref2)));
}

// The VAE's RMS_norm (+ SiLU) over channels-last videos and images, including the
// F.normalize clamp at an all-zero position.
void channel_rms_norm() {
  const auto opts = at::TensorOptions().device(at::kCUDA);
  for (const int64_t c : {12, 96, 384}) {
    at::Tensor video = (at::randn({2, c, 3, 5, 7}, opts) * 2).contiguous(at::MemoryFormat::ChannelsLast3d);
    video.select(2, 1).select(2, 2).zero_();
    const at::Tensor gamma = at::rand({c, 1, 1, 1}, opts) + 0.5;
    const at::Tensor ref = video / video.norm(2, {1}, true).clamp_min(1e-12) * std::sqrt(double(c)) * gamma;
    EXPECT(wan::cuda::channel_rms_norm_applies(video));
    const at::Tensor plain = wan::cuda::channel_rms_norm(video, gamma, false);
    const at::Tensor silu = wan::cuda::channel_rms_norm(video, gamma, true);
    EXPECT(plain.is_contiguous(at::MemoryFormat::ChannelsLast3d));
    EXPECT_MSG(rel_err(plain, ref) < 1e-6, std::to_string(rel_err(plain, ref)));
    EXPECT_MSG(rel_err(silu, at::silu(ref)) < 1e-6, std::to_string(rel_err(silu, at::silu(ref))));
    const at::Tensor image = video.select(2, 0).contiguous(at::MemoryFormat::ChannelsLast);
    const at::Tensor image_ref = ref.select(2, 0);
    const at::Tensor got = wan::cuda::channel_rms_norm(image, gamma.view({c, 1, 1}), false);
    EXPECT_MSG(rel_err(got, image_ref) < 1e-6, std::to_string(rel_err(got, image_ref)));
  }
  // The norm of a sum read as its two terms (a convolution computed in two parts).
  const at::Tensor a = at::randn({1, 96, 1, 6, 10}, opts).contiguous(at::MemoryFormat::ChannelsLast3d);
  const at::Tensor b = at::randn({1, 96, 1, 6, 10}, opts).contiguous(at::MemoryFormat::ChannelsLast3d);
  const at::Tensor g96 = at::rand({96, 1, 1, 1}, opts) + 0.5;
  const at::Tensor bias = at::randn({96}, opts);
  EXPECT(wan::cuda::channel_rms_norm_applies(a, b, bias));
  EXPECT(at::equal(wan::cuda::channel_rms_norm(a, g96, true, b), wan::cuda::channel_rms_norm(a + b, g96, true)));
  EXPECT(at::equal(wan::cuda::channel_rms_norm(a, g96, true, b, bias),
                   wan::cuda::channel_rms_norm((a + b) + bias.view({96, 1, 1, 1}), g96, true)));
  EXPECT(!wan::cuda::channel_rms_norm_applies(a, b.contiguous()));
  EXPECT(!wan::cuda::channel_rms_norm_applies(a, b, bias.narrow(0, 0, 48)));
  // Layouts the kernel does not read are refused, so callers fall back.
  EXPECT(!wan::cuda::channel_rms_norm_applies(at::randn({1, 8, 2, 3, 3}, opts)));
  EXPECT(!wan::cuda::channel_rms_norm_applies(
      at::randn({1, 6, 2, 3, 3}, opts).contiguous(at::MemoryFormat::ChannelsLast3d)));
}

// A residual block's output ((conv + rest) + bias) + skip in one pass, vectorised or not.
void residual_sum() {
  const auto opts = at::TensorOptions().device(at::kCUDA);
  for (const int64_t c : {96, 6}) {  // 96: float4 loads; 6 channels: scalar
    at::Tensor out = at::randn({1, c, 1, 6, 10}, opts).contiguous(at::MemoryFormat::ChannelsLast3d);
    const at::Tensor rest = at::randn_like(out), skip = at::randn_like(out), bias = at::randn({c}, opts);
    const at::Tensor expected = ((out + rest) + bias.view({c, 1, 1, 1})) + skip;
    const at::Tensor without_rest = (out + bias.view({c, 1, 1, 1})) + skip;
    EXPECT(wan::cuda::residual_sum_applies(out, rest, bias, skip));
    at::Tensor out2 = out.clone();
    EXPECT(at::equal(wan::cuda::residual_sum_(out, rest, bias, skip), expected));
    EXPECT(at::equal(wan::cuda::residual_sum_(out2, {}, bias, skip), without_rest));
  }
  const at::Tensor x = at::randn({1, 8, 1, 4, 4}, opts);
  const at::Tensor x_cl = x.contiguous(at::MemoryFormat::ChannelsLast3d);
  EXPECT(!wan::cuda::residual_sum_applies(x, {}, {}, x));  // not channels-last
  EXPECT(!wan::cuda::residual_sum_applies(x_cl, x, {}, x_cl));
  EXPECT(!wan::cuda::residual_sum_applies(x_cl, {}, {}, x_cl.cpu()));
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
  add_layer_norm_affine();
  gated_residual();
  linear_bias_in_fused_kernels();
  channel_rms_norm();
  residual_sum();
  return wan::test::check_exit("test-fused-ops");
}
