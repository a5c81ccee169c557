#include "models/cuda/fused_ops.h"

#include "models/error.h"

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

}  // namespace

bool fused_ops_available() { return true; }

at::Tensor modulated_layer_norm(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale, double eps) {
  expect(x, at::kFloat, "x");
  const at::Tensor sh = shift.contiguous(), sc = scale.contiguous();
  expect(sh, at::kFloat, "shift");
  expect(sc, at::kFloat, "scale");
  at::Tensor out = at::empty(x.sizes(), x.options().dtype(at::kBFloat16));
  launch_modulated_layer_norm(x.data_ptr<float>(), sh.data_ptr<float>(), sc.data_ptr<float>(), bf16_ptr(out),
                              x.size(0), x.size(1), x.size(2), static_cast<float>(eps),
                              at::cuda::getCurrentCUDAStream());
  return out;
}

at::Tensor rms_norm_rope(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& cos, const at::Tensor& sin,
                         const at::Tensor& valid_rows, int64_t heads, double eps) {
  expect(x, at::kBFloat16, "x");
  const at::Tensor w = weight.to(at::kFloat).contiguous();
  expect(cos, at::kFloat, "cos");
  expect(sin, at::kFloat, "sin");
  expect(valid_rows, at::kLong, "valid_rows");
  const int64_t head_dim = x.size(2) / heads;
  if (cos.size(0) < x.size(1) || cos.size(1) != head_dim / 2) throw Error("fused op: rope table shape mismatch");
  at::Tensor out = at::empty_like(x);
  launch_rms_norm_rope(bf16_ptr(x), w.data_ptr<float>(), cos.data_ptr<float>(), sin.data_ptr<float>(),
                       valid_rows.data_ptr<int64_t>(), bf16_ptr(out), x.size(0), x.size(1), heads, head_dim,
                       static_cast<float>(eps), at::cuda::getCurrentCUDAStream());
  return out;
}

void gated_residual_(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate) {
  expect(x, at::kFloat, "x");
  const at::Tensor yc = y.contiguous(), g = gate.contiguous();
  expect(yc, at::kBFloat16, "y");
  expect(g, at::kFloat, "gate");
  launch_gated_residual(x.data_ptr<float>(), bf16_ptr(yc), g.data_ptr<float>(), x.size(0), x.size(1), x.size(2),
                        at::cuda::getCurrentCUDAStream());
}

#else

bool fused_ops_available() { return false; }

[[noreturn]] static void unavailable() { throw Error("this build has no CUDA kernels (configure with -Dcuda=enabled)"); }
at::Tensor modulated_layer_norm(const at::Tensor&, const at::Tensor&, const at::Tensor&, double) { unavailable(); }
at::Tensor rms_norm_rope(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                         const at::Tensor&, int64_t, double) {
  unavailable();
}
void gated_residual_(at::Tensor&, const at::Tensor&, const at::Tensor&) { unavailable(); }

#endif

}  // namespace wan::cuda
