// The DiT block on CUDA with our fused kernels: the math of dit_block.cpp, but
// each elementwise chain (LayerNorm + modulation, q/k RMSNorm + RoPE, gated
// residual add, bias + GELU) reads and writes its tensor once.
#include <torch/version.h>

#include "models/cuda/fused_ops.h"
#include "models/dit/attention.h"
#include "models/dit/dit_attention.h"
#include "models/dit/dit_block.h"
#include "models/dit/precision.h"

namespace wan::dit {

bool DiTBlockImpl::can_run_fused(const at::Tensor& x, const std::vector<RopeRotation>& rotations) const {
  if (!x.is_cuda() || !cuda::fused_ops_available() || self_attn->norm_q.is_empty()) return false;
  if (self_attn->q->weight.scalar_type() != at::kBFloat16) return false;
  for (const auto& r : rotations)  // one RoPE table for the batch: every sample has the same grid
    if (!r.cos_f32.defined() || !r.cos_f32.is_same(rotations[0].cos_f32)) return false;
  return true;
}

at::Tensor SelfAttentionImpl::forward_fused(const at::Tensor& x, const at::Tensor& seq_lens,
                                            const at::Tensor& lens_device, const RopeRotation& rotation) {
  const double eps = norm_q->eps;
  const auto heads_view = [&](const at::Tensor& t) { return t.view({t.size(0), t.size(1), num_heads, -1}); };
  const at::Tensor query =
      cuda::rms_norm_rope(run_linear(q, x), norm_q->weight, rotation.cos_f32, rotation.sin_f32, lens_device, num_heads, eps);
  const at::Tensor key =
      cuda::rms_norm_rope(run_linear(k, x), norm_k->weight, rotation.cos_f32, rotation.sin_f32, lens_device, num_heads, eps);
  const at::Tensor value = run_linear(v, x);
  return run_linear(o, attention(heads_view(query), heads_view(key), heads_view(value), seq_lens).flatten(2));
}

at::Tensor DiTBlockImpl::forward_fused(const at::Tensor& x_in, const at::Tensor& time, const at::Tensor& seq_lens,
                                       const std::vector<RopeRotation>& rotations, const at::Tensor& context) {
  // e[0..5] = shift, scale, gate of the attention; shift, scale, gate of the FFN (float32).
  const std::vector<at::Tensor> e = (modulation + time).chunk(6, 1);
  at::Tensor x = x_in.scalar_type() == at::kFloat ? x_in.contiguous() : x_in.to(at::kFloat).contiguous();
  const at::Tensor lens_device = seq_lens.to(x.device(), /*non_blocking=*/true);

  const at::Tensor y = self_attn->forward_fused(cuda::modulated_layer_norm(x, e[0], e[1], eps), seq_lens,
                                                lens_device, rotations[0]);
  cuda::gated_residual_(x, y, e[2]);

  const at::Tensor normed = norm3.is_empty() ? x : norm3->forward(x);
  x.add_(cross_attn->forward(normed, context));

  const at::Tensor h = cuda::modulated_layer_norm(x, e[3], e[4], eps);
  const auto& fc1 = ffn[0]->as<torch::nn::Linear>();
  const auto& fc2 = ffn[2]->as<torch::nn::Linear>();
#if TORCH_VERSION_MAJOR >= 2
  // Bias + tanh-GELU in the GEMM epilogue (cuBLASLt's GELU is the tanh form).
  const at::Tensor h2 = h.view({-1, h.size(-1)});
  const at::Tensor hidden =
      at::_addmm_activation(fc1->bias, h2, fc1->weight.t(), 1, 1, /*use_gelu=*/true).view({h.size(0), h.size(1), -1});
#else
  const at::Tensor hidden = at::gelu(fc1->forward(h), "tanh");
#endif
  cuda::gated_residual_(x, fc2->forward(hidden), e[5]);
  return x;
}

}  // namespace wan::dit
