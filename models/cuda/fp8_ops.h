// The fp8 fast mode's operations: row-wise (per-token) e4m3 quantisation of activations and
// the e4m3 GEMM with per-token x per-output-channel float32 scales (cuBLASLt through
// at::_scaled_mm). Each quantisation has a fused CUDA kernel and a plain libtorch
// reference (amax, divide, cast) with the same scales, which the fidelity test compares.
// Nothing here exists in builds with a libtorch older than 2.1 (no float8 dtypes):
// fp8_available() is false there and the operations throw.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wan::cuda {

// An activation in e4m3 with one float32 scale per row (token): row r is values[r] * scales[r].
struct Fp8Rows {
  at::Tensor values;           // e4m3 [rows, dim], contiguous
  at::Tensor scales;           // float32 [rows, 1]
  std::vector<int64_t> sizes;  // the activation's own shape [..., dim]
};

// True when `device` can run the fp8 mode (libtorch with float8, our CUDA kernels, and a GPU
// with fp8 tensor cores: compute capability 8.9 or newer); otherwise *why says why.
bool fp8_available(const at::Device& device, std::string* why = nullptr);

// How activations are quantised: by our one-pass kernel, or by the plain libtorch reference
// (for the fidelity test; process-wide).
enum class Fp8Quantizer { Fused, Reference };
void set_fp8_quantizer(Fp8Quantizer quantizer);
Fp8Quantizer fp8_quantizer();

// x bf16 [..., dim] (rows may be strided, the last dimension contiguous): bias (bf16 [dim],
// or undefined) added first, then tanh-GELU when `gelu` (each rounded to bf16); each row scaled
// by max|v| / 448 and cast to e4m3 (saturating).
Fp8Rows quantize_rows_e4m3(const at::Tensor& x, const at::Tensor& bias = {}, bool gelu = false);

// Per-output-channel e4m3 weights: weight [out, in] (any float dtype) -> e4m3 values and
// float32 scales [out] = max|row| / 448 (computed in float32), on `compute` (where the weight
// may live on the host, as under block swap) and returned on the weight's own device.
std::pair<at::Tensor, at::Tensor> quantize_weight_e4m3(const at::Tensor& weight, const at::Device& compute);

// True for an e4m3 tensor (never in builds without fp8 support).
bool is_e4m3(const at::Tensor& t);

// x W^T (+ bias) in bf16 [..., out] from e4m3 operands: x.values [rows, in], weight e4m3
// [out, in] with weight_scale float32 [out]; bias bf16 [out] or undefined.
at::Tensor fp8_linear(const Fp8Rows& x, const at::Tensor& weight, const at::Tensor& weight_scale,
                      const at::Tensor& bias = {});

// The bf16 activation back from its e4m3 form (for run-time LoRA factors on fp8 layers).
at::Tensor dequantize_rows(const Fp8Rows& x);

}  // namespace wan::cuda
