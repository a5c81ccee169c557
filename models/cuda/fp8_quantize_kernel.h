// Launcher of the row-wise e4m3 quantisation that feeds the DiT's fp8 linear layers
// (fp8_quantize_kernel.cu). Raw pointers only, so the .cu file needs no libtorch headers.
#pragma once
#include <cstdint>

#include <cuda_runtime.h>

namespace wan::cuda {

// The largest finite e4m3 value: a row's largest magnitude maps to it.
constexpr float kE4M3Max = 448.f;

// For each row r of x (bf16 [rows, dim], rows x_row_stride elements apart):
//   v = x[r] (+ bias, bf16 [dim], when not null), then gelu_tanh(v) when `gelu`, each step
//   rounded to bf16;
//   scales[r] = max(max(|v|), 1e-12) * (1 / 448) in float32, the plain path's arithmetic (libtorch
//   divides by a scalar as a product with its reciprocal);
//   out[r] = e4m3(v / scales[r]), saturated, contiguous [rows, dim].
// dim a multiple of 8; x, bias and out 16-byte aligned.
void launch_quantize_rows_e4m3(const uint16_t* x, int64_t x_row_stride, const uint16_t* bias, bool gelu, uint8_t* out,
                               float* scales, int64_t rows, int64_t dim, cudaStream_t stream);

}  // namespace wan::cuda
