#include "models/dit/dit_ops.h"

#include "models/cuda/fused_ops.h"
#include "models/dit/precision.h"

namespace wan::dit {
namespace {

// The fused kernels read a float32 residual stream on CUDA and write bf16 activations.
bool fused(const at::Tensor& x, at::ScalarType dtype) {
  return dtype == at::kBFloat16 && x.is_cuda() && x.scalar_type() == at::kFloat && x.is_contiguous() &&
         cuda::fused_ops_available();
}

bool fused(const at::Tensor& x, const Projection& y) { return fused(x, y.y.scalar_type()) && y.y.is_cuda(); }

at::Tensor heads_view(const at::Tensor& t, int64_t heads) { return t.view({t.size(0), t.size(1), heads, -1}); }

// Per-frame modulation rows [B, F, 1, C] (the causal DiT, one timestep per frame): each
// frame's tokens become one sample of the ops' batch, x [B, F fs, C] -> [B F, fs, C] (a view,
// so in-place updates reach x) and the rows [B F, 1, C].
bool per_frame(const at::Tensor& rows) { return rows.defined() && rows.dim() == 4; }
at::Tensor frames_as_batch(const at::Tensor& x, const at::Tensor& rows) {
  return x.view({rows.size(0) * rows.size(1), -1, x.size(-1)});
}
at::Tensor batch_rows(const at::Tensor& rows) { return rows.defined() ? rows.flatten(0, 1) : rows; }
Projection frames_as_batch(const Projection& y, const at::Tensor& rows) {
  return Projection{y.y.reshape({rows.size(0) * rows.size(1), -1, y.y.size(-1)}), y.bias};
}

}  // namespace

at::Tensor modulated_norm(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale, double eps,
                          at::ScalarType dtype) {
  if (per_frame(shift))
    return modulated_norm(frames_as_batch(x, shift), batch_rows(shift), batch_rows(scale), eps, dtype).view(x.sizes());
  if (fused(x, dtype)) return cuda::modulated_layer_norm(x, shift, scale, eps);
  return (layer_norm_f32(x, eps) * (1 + scale) + shift).to(dtype);
}

void gated_residual_(at::Tensor& x, const Projection& y, const at::Tensor& gate) {
  if (per_frame(gate)) {
    at::Tensor frames = frames_as_batch(x, gate);
    return gated_residual_(frames, frames_as_batch(y, gate), batch_rows(gate));
  }
  if (fused(x, y) && x.size(2) % 4 == 0) return cuda::gated_residual_(x, y.y, gate, y.bias);
  x.add_(y.with_bias() * gate);
}

at::Tensor add_modulated_norm(at::Tensor& x, const Projection& y, const at::Tensor& gate, const at::Tensor& shift,
                              const at::Tensor& scale, double eps, at::ScalarType dtype) {
  if (per_frame(shift)) {
    at::Tensor frames = frames_as_batch(x, shift);
    return add_modulated_norm(frames, frames_as_batch(y, shift), batch_rows(gate), batch_rows(shift), batch_rows(scale),
                              eps, dtype)
        .view(x.sizes());
  }
  if (fused(x, y) && dtype == at::kBFloat16)
    return cuda::add_modulated_layer_norm(x, y.y, gate, shift, scale, eps, y.bias);
  x.add_(gate.defined() ? y.with_bias() * gate : y.with_bias());
  return modulated_norm(x, shift, scale, eps, dtype);
}

at::Tensor add_affine_norm(at::Tensor& x, const Projection& y, const at::Tensor& gate,
                           const torch::nn::LayerNormImpl& norm, at::ScalarType dtype) {
  if (per_frame(gate)) {
    at::Tensor frames = frames_as_batch(x, gate);
    return add_affine_norm(frames, frames_as_batch(y, gate), batch_rows(gate), norm, dtype).view(x.sizes());
  }
  if (fused(x, y) && dtype == at::kBFloat16)
    return cuda::add_layer_norm_affine(x, y.y, gate, norm.weight, norm.bias, norm.options.eps(), y.bias);
  x.add_(gate.defined() ? y.with_bias() * gate : y.with_bias());
  return at::layer_norm(x, norm.options.normalized_shape(), norm.weight, norm.bias, norm.options.eps()).to(dtype);
}

at::Tensor qk_norm_rope(const Projection& p, const RMSNorm& norm, int64_t heads,
                        const std::vector<RopeRotation>* rotations, const TokenCounts* tokens) {
  // One kernel when every sample shares one RoPE table (one grid for the batch) and it has
  // its float32 copies (CUDA).
  bool one_table = !rotations || (!rotations->empty() && (*rotations)[0].cos_f32.defined());
  for (size_t i = 1; one_table && rotations && i < rotations->size(); ++i)
    one_table = (*rotations)[i].cos_f32.is_same((*rotations)[0].cos_f32);
  if (!norm.is_empty() && one_table && p.y.is_cuda() && p.y.scalar_type() == at::kBFloat16 &&
      cuda::fused_ops_available()) {
    const at::Tensor none;
    const RopeRotation* r = rotations ? &(*rotations)[0] : nullptr;
    return heads_view(
        cuda::rms_norm_rope(p.y, norm->weight, r ? r->cos_f32 : none, r ? r->sin_f32 : none,
                            tokens ? tokens->device : none, tokens ? tokens->max : 0, heads, norm->eps, p.bias),
        heads);
  }
  at::Tensor y = p.with_bias();
  if (!norm.is_empty()) y = norm->forward(y);
  y = heads_view(y, heads);
  return rotations ? apply_rope(y, *rotations) : y;
}

}  // namespace wan::dit
