#include "models/cuda/fused_ops.h"

#include "models/common/error.h"

#ifdef WAN_WITH_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>

#include "models/cuda/fused_kernels.h"
#endif

namespace wan::cuda {

#ifdef WAN_WITH_CUDA_KERNELS

namespace {

void expect(const at::Tensor& t, at::ScalarType dtype, const char* what) {
  if (!t.is_cuda() || t.scalar_type() != dtype || !t.is_contiguous())
    throw Error(std::string("fused op: ") + what + " must be a contiguous CUDA tensor of " + c10::toString(dtype));
}

uint16_t* bf16_ptr(const at::Tensor& t) { return reinterpret_cast<uint16_t*>(t.data_ptr()); }

// A linear layer's bias for a fused kernel: bf16 [dim], contiguous; undefined stays undefined.
at::Tensor bias_vector(const at::Tensor& bias, int64_t dim) {
  if (!bias.defined()) return bias;
  const at::Tensor b = bias.to(at::kBFloat16).contiguous();
  if (!b.is_cuda() || b.numel() != dim)
    throw Error("fused op: a bias must be a CUDA vector of " + std::to_string(dim) + " values");
  return b;
}

const uint16_t* bf16_ptr_or_null(const at::Tensor& t) { return t.defined() ? bf16_ptr(t) : nullptr; }

}  // namespace

bool fused_ops_available() { return true; }

at::Tensor add_modulated_layer_norm(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, const at::Tensor& shift,
                                    const at::Tensor& scale, double eps, const at::Tensor& y_bias) {
  expect(x, at::kFloat, "x");
  const at::Tensor sh = shift.contiguous(), sc = scale.contiguous();
  expect(sh, at::kFloat, "shift");
  expect(sc, at::kFloat, "scale");
  at::Tensor yc, g;
  if (y.defined()) {
    yc = y.contiguous();
    expect(yc, at::kBFloat16, "y");
    if (gate.defined()) {
      g = gate.contiguous();
      expect(g, at::kFloat, "gate");
    }
  }
  const at::Tensor yb = yc.defined() ? bias_vector(y_bias, x.size(2)) : at::Tensor();
  at::Tensor out = at::empty(x.sizes(), x.options().dtype(at::kBFloat16));
  launch_add_modulated_layer_norm(x.data_ptr<float>(), yc.defined() ? bf16_ptr(yc) : nullptr, bf16_ptr_or_null(yb),
                                  g.defined() ? g.data_ptr<float>() : nullptr, sh.data_ptr<float>(),
                                  sc.data_ptr<float>(), bf16_ptr(out), x.size(0), x.size(1), x.size(2),
                                  static_cast<float>(eps), at::cuda::getCurrentCUDAStream());
  return out;
}

at::Tensor modulated_layer_norm(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale, double eps) {
  at::Tensor unchanged = x;  // no residual: x is only read
  return add_modulated_layer_norm(unchanged, at::Tensor(), at::Tensor(), shift, scale, eps);
}

at::Tensor rms_norm_rope(const at::Tensor& x_in, const at::Tensor& weight, const at::Tensor& cos, const at::Tensor& sin,
                         const at::Tensor& valid_rows, int64_t max_valid_rows, int64_t heads, double eps,
                         const at::Tensor& x_bias) {
  // Rows may be strided (a slice of a fused qkv output); elements within a row may not.
  const bool rows_ok = x_in.dim() == 3 && x_in.stride(2) == 1 && x_in.stride(0) == x_in.size(1) * x_in.stride(1);
  const at::Tensor x = rows_ok ? x_in : x_in.contiguous();
  if (!x.is_cuda() || x.scalar_type() != at::kBFloat16) throw Error("fused op: x must be a bf16 CUDA tensor");
  const at::Tensor w = weight.to(at::kFloat).contiguous();
  const int64_t head_dim = x.size(2) / heads;
  const bool rotate = cos.defined();
  if (rotate) {
    expect(cos, at::kFloat, "cos");
    expect(sin, at::kFloat, "sin");
    expect(valid_rows, at::kLong, "valid_rows");
    if (cos.size(0) < max_valid_rows || cos.size(1) != head_dim / 2 || sin.sizes() != cos.sizes())
      throw Error("fused op: RoPE tables of shape " + std::to_string(cos.size(0)) + "x" + std::to_string(cos.size(1)) +
                  " for " + std::to_string(max_valid_rows) + " rows of head_dim " + std::to_string(head_dim));
  }
  // Without rotation every row is "padding": valid_rows of zeros.
  const at::Tensor valid = rotate ? valid_rows : at::zeros({x.size(0)}, x.options().dtype(at::kLong));
  const at::Tensor xb = bias_vector(x_bias, x.size(2));
  at::Tensor out = at::empty(x.sizes(), x.options());
  launch_rms_norm_rope(bf16_ptr(x), x.stride(1), bf16_ptr_or_null(xb), w.data_ptr<float>(),
                       rotate ? cos.data_ptr<float>() : nullptr, rotate ? sin.data_ptr<float>() : nullptr,
                       valid.data_ptr<int64_t>(), bf16_ptr(out), x.size(0), x.size(1), heads, head_dim,
                       static_cast<float>(eps), at::cuda::getCurrentCUDAStream());
  return out;
}

at::Tensor add_layer_norm_affine(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, const at::Tensor& weight,
                                 const at::Tensor& bias, double eps, const at::Tensor& y_bias) {
  // LN(x) * w + b = LN(x) * (1 + (w - 1)) + b: the modulation kernel with one shared row.
  const int64_t batch = x.size(0), dim = x.size(2);
  const at::Tensor scale = (weight.to(at::kFloat) - 1).view({1, 1, dim}).expand({batch, 1, dim}).contiguous();
  const at::Tensor shift = bias.to(at::kFloat).view({1, 1, dim}).expand({batch, 1, dim}).contiguous();
  return add_modulated_layer_norm(x, y, gate, shift, scale, eps, y_bias);
}

void gated_residual_(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, const at::Tensor& y_bias) {
  expect(x, at::kFloat, "x");
  const at::Tensor yc = y.contiguous(), g = gate.contiguous();
  expect(yc, at::kBFloat16, "y");
  expect(g, at::kFloat, "gate");
  if (x.size(2) % 4 != 0) throw Error("fused op: gated_residual_ needs a width divisible by 4");
  const at::Tensor yb = bias_vector(y_bias, x.size(2));
  launch_gated_residual(x.data_ptr<float>(), bf16_ptr(yc), bf16_ptr_or_null(yb), g.data_ptr<float>(), x.size(0),
                        x.size(1), x.size(2), at::cuda::getCurrentCUDAStream());
}

#else

bool fused_ops_available() { return false; }

[[noreturn]] static void unavailable() {
  throw Error("this build has no CUDA kernels (configure with -Dcuda=enabled)");
}
at::Tensor modulated_layer_norm(const at::Tensor&, const at::Tensor&, const at::Tensor&, double) { unavailable(); }
at::Tensor rms_norm_rope(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                         int64_t, int64_t, double, const at::Tensor&) {
  unavailable();
}
at::Tensor add_modulated_layer_norm(at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                    const at::Tensor&, double, const at::Tensor&) {
  unavailable();
}
at::Tensor add_layer_norm_affine(at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                 const at::Tensor&, double, const at::Tensor&) {
  unavailable();
}
void gated_residual_(at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&) { unavailable(); }

#endif

}  // namespace wan::cuda
