// bench-dit-ops: times the operators of one i2v-14B DiT block at a given token
// count on the GPU, to see where a forward pass spends its time against the
// ceilings of ../shared/docs/gpu-host.md. One line per operator: ms and TFLOP/s.
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>

#include "models/cuda/fp8_attention.h"
#include "models/cuda/fused_ops.h"
#include "models/cuda/int8_attention.h"

namespace {

double time_ms(const std::function<void()>& fn, int iters = 10) {
  fn();
  torch::cuda::synchronize();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) fn();
  torch::cuda::synchronize();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iters;
}

void report(const char* name, double ms, double flop) {
  std::printf("%-36s %8.3f ms  %7.1f TFLOP/s\n", name, ms, flop > 0 ? flop / ms / 1e9 : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t L = argc > 1 ? std::stoll(argv[1]) : 32760, C = 5120, F = 13824, H = 40, D = 128;
  c10::InferenceMode guard;
  const auto bf = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  const auto f32 = bf.dtype(at::kFloat);
  const at::Tensor x = at::randn({1, L, C}, f32), h = at::randn({1, L, C}, bf);
  const at::Tensor wqkv = at::randn({3 * C, C}, bf) * 0.01, bqkv = at::randn({3 * C}, bf);
  const at::Tensor wo = at::randn({C, C}, bf) * 0.01, bo = at::randn({C}, bf);
  const at::Tensor w1 = at::randn({F, C}, bf) * 0.01, b1 = at::randn({F}, bf);
  const at::Tensor w2 = at::randn({C, F}, bf) * 0.01, b2 = at::randn({C}, bf);
  const at::Tensor q = at::randn({1, H, L, D}, bf), k = at::randn({1, H, L, D}, bf), v = at::randn({1, H, L, D}, bf);
  const at::Tensor ctx_k = at::randn({1, H, 512, D}, bf), ctx_v = at::randn({1, H, 512, D}, bf);
  const at::Tensor shift = at::randn({1, 1, C}, f32), scale = at::randn({1, 1, C}, f32);
  const at::Tensor cs = at::rand({L, D / 2}, f32), sn = at::rand({L, D / 2}, f32);
  const at::Tensor lens = at::full({1}, L, bf.dtype(at::kLong)), nw = at::rand({C}, f32);
  const at::Tensor hid = at::randn({L, F}, bf);
  const double lin = 2.0 * L * C;

  std::printf("tokens %lld\n", static_cast<long long>(L));
  report("qkv linear 5120->15360", time_ms([&] { at::linear(h, wqkv, bqkv); }), lin * 3 * C);
  report("o linear 5120->5120", time_ms([&] { at::linear(h, wo, bo); }), lin * C);
  report("ffn1 addmm+gelu epilogue", time_ms([&] { at::_addmm_activation(b1, h[0], w1.t(), 1, 1, true); }), lin * F);
  report("ffn1 linear then gelu", time_ms([&] { at::gelu(at::linear(h, w1, b1), "tanh"); }), lin * F);
  report("ffn2 linear 13824->5120", time_ms([&] { at::linear(hid, w2, b2); }), 2.0 * L * F * C);
  report("self attention (SDPA)", time_ms([&] { at::scaled_dot_product_attention(q, k, v); }), 4.0 * L * L * H * D);
  {
    // The DiT's layout, [B, L, heads, head_dim] (the exact path passes it to SDPA as strided
    // [B, heads, L, head_dim]), for the 8-bit attention side by side with bf16.
    const at::Tensor qt = q.transpose(1, 2).contiguous(), kt = k.transpose(1, 2).contiguous(),
                     vt = v.transpose(1, 2).contiguous();
    report("self attention bf16, DiT layout", time_ms([&] {
             at::scaled_dot_product_attention(qt.transpose(1, 2), kt.transpose(1, 2), vt.transpose(1, 2));
           }),
           4.0 * L * L * H * D);
    std::string why;
    if (wan::cuda::fp8_attention_available(at::Device(at::kCUDA, 0), &why))
      report("self attention fp8 (quantise incl.)", time_ms([&] { wan::cuda::fp8_attention(qt, kt, vt); }),
             4.0 * L * L * H * D);
    else
      std::printf("self attention fp8: unavailable: %s\n", why.c_str());
    if (wan::cuda::int8_attention_available(at::Device(at::kCUDA, 0), &why))
      report("self attention int8 (quantise incl.)", time_ms([&] { wan::cuda::int8_attention(qt, kt, vt); }),
             4.0 * L * L * H * D);
    else
      std::printf("self attention int8: unavailable: %s\n", why.c_str());
  }
  report("cross attention 512 keys", time_ms([&] { at::scaled_dot_product_attention(q, ctx_k, ctx_v); }),
         4.0 * L * 512 * H * D);
  report("modulated layer norm", time_ms([&] { wan::cuda::modulated_layer_norm(x, shift, scale, 1e-6); }), 0);
  report("rms norm + rope", time_ms([&] { wan::cuda::rms_norm_rope(h, nw, cs, sn, lens, L, H, 1e-6); }), 0);
  at::Tensor xr = x.clone();
  report("gated residual", time_ms([&] { wan::cuda::gated_residual_(xr, h, scale); }), 0);
  report("transpose copy [L,H,D]", time_ms([&] { q.transpose(1, 2).contiguous(); }), 0);
  return 0;
}
