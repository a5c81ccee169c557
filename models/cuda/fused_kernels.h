// Launchers of the DiT's fused elementwise CUDA kernels (fused_kernels.cu).
// Raw pointers and sizes only, so the .cu file needs no libtorch headers;
// fused_ops.cpp checks the tensors and calls these on the current stream.
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace wan::cuda {

// With y: x[b, l, :] += (y[b, l, :] + y_bias) * gate[b, :] first (y_bias null = 0, gate
// null = 1; written back to x): y_bias is the bias of the linear layer that made y.
// Then out[b, l, :] = bf16(LayerNorm(x[b, l, :]) * (1 + scale[b, :]) + shift[b, :]),
// LayerNorm without affine, statistics in float32. x float32 [B, L, C]; y bf16 or null;
// gate / shift / scale float32 [B, C].
void launch_add_modulated_layer_norm(float* x, const uint16_t* y, const uint16_t* y_bias, const float* gate,
                                     const float* shift, const float* scale, uint16_t* out_bf16, int64_t batch,
                                     int64_t rows_per_batch, int64_t dim, float eps, cudaStream_t stream);

// q/k path of attention: RMSNorm over all heads (float32 statistics; the normalised value
// is rounded to bf16 before the float32 weight, as the reference's module does under
// autocast), then the 3-D rotary embedding on interleaved channel pairs for rows <
// valid_rows[b] (padding rows, and every row when valid_rows is 0, are only normalised),
// rounded to bf16 once at the end. x bf16 [B, L, heads * head_dim]; cos / sin float32
// [L, head_dim / 2]. Rows of x are x_row_stride elements apart (q, k inside a fused qkv
// output); out is contiguous. x_bias (bf16 [heads * head_dim] or null) is added to x
// first, rounded to bf16 as the linear layer's own output would be.
void launch_rms_norm_rope(const uint16_t* x, int64_t x_row_stride, const uint16_t* x_bias, const float* weight,
                          const float* cos, const float* sin, const int64_t* valid_rows, uint16_t* out, int64_t batch,
                          int64_t rows_per_batch, int64_t heads, int64_t head_dim, float eps, cudaStream_t stream);

// x[b, l, c] += (float(y[b, l, c]) + y_bias[c]) * gate[b, c]: the gated residual add. x
// float32, y and y_bias bf16 (y_bias may be null); dim a multiple of 4, all 8/16-byte aligned.
void launch_gated_residual(float* x, const uint16_t* y, const uint16_t* y_bias, const float* gate, int64_t batch,
                           int64_t rows_per_batch, int64_t dim, cudaStream_t stream);

}  // namespace wan::cuda
