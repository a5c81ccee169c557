#include "models/cuda/fp8_ops.h"

#include <torch/version.h>

#include <atomic>
#include <cstdint>
#include <optional>

#include "models/common/error.h"

#ifdef WAN_WITH_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>

#include "models/cuda/cuda_device.h"
#include "models/cuda/fp8_quantize_kernel.h"
#endif

namespace wan::cuda {
namespace {

std::atomic<Fp8Quantizer> quantizer{Fp8Quantizer::Fused};

}  // namespace

void set_fp8_quantizer(Fp8Quantizer q) { quantizer = q; }
Fp8Quantizer fp8_quantizer() { return quantizer; }

// Row-wise scaling in at::_scaled_mm (and the float8 dtypes) as used here: libtorch 2.5 on.
#if (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)) && \
    defined(WAN_WITH_CUDA_KERNELS)

namespace {

constexpr double kE4M3MaxValue = 448.0;

// The kernel reads eight bf16 values (16 bytes) at a time.
bool aligned16(const at::Tensor& t) { return reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 16 == 0; }

// Rows of x as a [rows, dim] matrix, each row's elements contiguous and 16-byte aligned.
at::Tensor as_rows(const at::Tensor& x) {
  const int64_t dim = x.size(-1);
  at::Tensor rows = x.reshape({-1, dim});
  if (rows.stride(1) != 1 || rows.stride(0) % 8 != 0 || !aligned16(rows)) rows = rows.contiguous();
  if (!aligned16(rows)) rows = rows.clone();  // a contiguous view at an odd offset
  return rows;
}

Fp8Rows reference_quantize(const at::Tensor& x, const at::Tensor& bias, bool gelu) {
  at::Tensor v = x.reshape({-1, x.size(-1)});
  if (bias.defined()) v = v + bias.to(v.scalar_type());
  if (gelu) v = at::gelu(v, "tanh");
  const at::Tensor f = v.to(at::kFloat);
  const at::Tensor scales = f.abs().amax(1, /*keepdim=*/true).clamp_min(1e-12) / kE4M3MaxValue;
  return {(f / scales).clamp(-kE4M3MaxValue, kE4M3MaxValue).to(at::kFloat8_e4m3fn), scales, x.sizes().vec()};
}

}  // namespace

bool fp8_available(const at::Device& device, std::string* why) {
  const int index = cuda_device_index(device, "fp8", why);
  if (index < 0) return false;
  const cudaDeviceProp* p = at::cuda::getDeviceProperties(index);
  if (p->major * 10 + p->minor < 89) {
    if (why)
      *why = describe_cuda_device(device, index) +
             " has no fp8 tensor cores: fp8 needs compute capability 8.9 or newer (Ada, Hopper)";
    return false;
  }
  return true;
}

Fp8Rows quantize_rows_e4m3(const at::Tensor& x, const at::Tensor& bias, bool gelu) {
  if (!x.is_cuda() || x.scalar_type() != at::kBFloat16) throw Error("fp8: activations must be bf16 CUDA tensors");
  const int64_t dim = x.size(-1);
  if (dim % 8 != 0) throw Error("fp8: a row width of " + std::to_string(dim) + " is not a multiple of 8");
  if (fp8_quantizer() == Fp8Quantizer::Reference) return reference_quantize(x, bias, gelu);
  const at::Tensor rows = as_rows(x);
  if (rows.size(0) > INT32_MAX) throw Error("fp8: more than 2^31 rows in one activation");
  at::Tensor b;
  if (bias.defined()) {
    b = bias.to(at::kBFloat16).contiguous();
    if (!aligned16(b)) b = b.clone();
    if (b.numel() != dim || !b.is_cuda()) throw Error("fp8: the bias must be a CUDA vector of the row's width");
  }
  Fp8Rows out{at::empty(rows.sizes(), rows.options().dtype(at::kFloat8_e4m3fn)),
              at::empty({rows.size(0), 1}, rows.options().dtype(at::kFloat)), x.sizes().vec()};
  launch_quantize_rows_e4m3(reinterpret_cast<const uint16_t*>(rows.data_ptr()), rows.stride(0),
                            b.defined() ? reinterpret_cast<const uint16_t*>(b.data_ptr()) : nullptr, gelu,
                            reinterpret_cast<uint8_t*>(out.values.data_ptr()), out.scales.data_ptr<float>(),
                            rows.size(0), dim, at::cuda::getCurrentCUDAStream());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

std::pair<at::Tensor, at::Tensor> quantize_weight_e4m3(const at::Tensor& weight, const at::Device& compute) {
  const at::Tensor w = weight.to(compute, at::kFloat);
  const at::Tensor scales = w.abs().amax(1, /*keepdim=*/true).clamp_min(1e-12) / kE4M3MaxValue;
  const at::Tensor values = (w / scales).clamp(-kE4M3MaxValue, kE4M3MaxValue).to(at::kFloat8_e4m3fn);
  return {values.to(weight.device()), scales.view({-1}).to(weight.device())};
}

bool is_e4m3(const at::Tensor& t) { return t.defined() && t.scalar_type() == at::kFloat8_e4m3fn; }

at::Tensor fp8_linear(const Fp8Rows& x, const at::Tensor& weight, const at::Tensor& weight_scale,
                      const at::Tensor& bias) {
  std::optional<at::Tensor> b;
  if (bias.defined()) b = bias.to(at::kBFloat16);
  // Row-wise scaling: scale_a per row of x [rows, 1], scale_b per output channel [1, out];
  // the second operand column-major (W^T of a row-major W).
  at::Tensor y = at::_scaled_mm(x.values, weight.t(), x.scales, weight_scale.view({1, -1}), b, std::nullopt,
                                at::kBFloat16, /*use_fast_accum=*/true);
  std::vector<int64_t> sizes = x.sizes;
  sizes.back() = weight.size(0);
  return y.view(sizes);
}

at::Tensor dequantize_rows(const Fp8Rows& x) {
  return (x.values.to(at::kFloat) * x.scales).to(at::kBFloat16).view(x.sizes);
}

#else

bool fp8_available(const at::Device&, std::string* why) {
  if (why) *why = "this build has no fp8 support (it needs a CUDA libtorch 2.5+ and -Dcuda=enabled)";
  return false;
}

[[noreturn]] static void unavailable() {
  throw Error("this build has no fp8 support (it needs a CUDA libtorch 2.5+ and -Dcuda=enabled)");
}
Fp8Rows quantize_rows_e4m3(const at::Tensor&, const at::Tensor&, bool) { unavailable(); }
std::pair<at::Tensor, at::Tensor> quantize_weight_e4m3(const at::Tensor&, const at::Device&) { unavailable(); }
bool is_e4m3(const at::Tensor&) { return false; }
at::Tensor fp8_linear(const Fp8Rows&, const at::Tensor&, const at::Tensor&, const at::Tensor&) { unavailable(); }
at::Tensor dequantize_rows(const Fp8Rows&) { unavailable(); }

#endif

}  // namespace wan::cuda
