// Launchers of the DiT's fused elementwise CUDA kernels (fused_kernels.cu).
// Raw pointers and sizes only, so the .cu file needs no libtorch headers;
// fused_ops.cpp checks the tensors and calls these on the current stream.
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace wan::cuda {

// out[b, l, :] = bf16(LayerNorm(x[b, l, :]) * (1 + scale[b, :]) + shift[b, :]), LayerNorm
// without affine, statistics in float32. x float32 [B, L, C]; shift / scale float32 [B, C].
void launch_modulated_layer_norm(const float* x, const float* shift, const float* scale, uint16_t* out_bf16,
                                 int64_t batch, int64_t rows_per_batch, int64_t dim, float eps, cudaStream_t stream);

// q/k path of attention: RMSNorm over all heads (float32 statistics; the normalised value
// is rounded to bf16 before the float32 weight, as the reference's module does under
// autocast), then the 3-D rotary embedding on interleaved channel pairs for rows <
// valid_rows[b] (padding rows, and every row when valid_rows is 0, are only normalised),
// rounded to bf16 once at the end. x bf16 [B, L, heads * head_dim]; cos / sin float32
// [L, head_dim / 2].
void launch_rms_norm_rope(const uint16_t* x, const float* weight, const float* cos, const float* sin,
                          const int64_t* valid_rows, uint16_t* out, int64_t batch, int64_t rows_per_batch,
                          int64_t heads, int64_t head_dim, float eps, cudaStream_t stream);

// x[b, l, c] += float(y[b, l, c]) * gate[b, c]: the gated residual add. x float32, y bf16.
void launch_gated_residual(float* x, const uint16_t* y, const float* gate, int64_t batch, int64_t rows_per_batch,
                           int64_t dim, cudaStream_t stream);

}  // namespace wan::cuda
