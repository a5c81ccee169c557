#include "models/cuda/vae_ops.h"

#include "models/error.h"

#ifdef WAN_WITH_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>

#include "models/cuda/channel_rms_norm_kernel.h"
#include "models/cuda/sum_kernel.h"
#endif

namespace wan::cuda {

#ifdef WAN_WITH_CUDA_KERNELS

namespace {

// Same shape, and the same strides wherever a dimension has more than one element.
bool laid_out_alike(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes()) return false;
  for (int64_t d = 0; d < a.dim(); ++d)
    if (a.size(d) > 1 && a.stride(d) != b.stride(d)) return false;
  return true;
}

}  // namespace

bool channel_rms_norm_applies(const at::Tensor& x, const at::Tensor& plus) {
  if (plus.defined() && (!plus.is_cuda() || plus.scalar_type() != at::kFloat || !laid_out_alike(x, plus)))
    return false;
  if (!x.is_cuda() || x.scalar_type() != at::kFloat || (x.dim() != 4 && x.dim() != 5)) return false;
  const int64_t c = x.size(1);
  const auto format = x.dim() == 5 ? at::MemoryFormat::ChannelsLast3d : at::MemoryFormat::ChannelsLast;
  // A single position or channel makes every layout "contiguous"; require the real one.
  return c % 4 == 0 && c <= 1024 && x.stride(1) == 1 && x.is_contiguous(format);
}

at::Tensor channel_rms_norm(const at::Tensor& x, const at::Tensor& gamma, bool silu, const at::Tensor& plus) {
  if (!channel_rms_norm_applies(x, plus))
    throw Error(
        "channel_rms_norm: expected a channels-last float32 CUDA tensor with a multiple of 4 channels (and an added "
        "tensor of its shape and strides)");
  const at::Tensor g = gamma.contiguous();
  if (!g.is_cuda() || g.scalar_type() != at::kFloat || g.numel() != x.size(1))
    throw Error("channel_rms_norm: gamma must be a float32 CUDA tensor with one value per channel");
  at::Tensor out = at::empty_like(x);  // keeps the channels-last layout
  const int64_t outer = x.size(0), inner = x.numel() / (outer * x.size(1));
  launch_channel_rms_norm(x.data_ptr<float>(), plus.defined() ? plus.data_ptr<float>() : nullptr, x.stride(0),
                          g.data_ptr<float>(), out.data_ptr<float>(), out.stride(0), outer, inner, x.size(1), silu,
                          at::cuda::getCurrentCUDAStream());
  return out;
}

bool add_two_applies(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
  for (const at::Tensor* t : {&a, &b, &c})
    if (!t->is_cuda() || t->scalar_type() != at::kFloat || !t->is_non_overlapping_and_dense()) return false;
  return laid_out_alike(a, b) && laid_out_alike(a, c);
}

at::Tensor& add_two_(at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
  if (!add_two_applies(a, b, c))
    throw Error("add_two_: expected float32 CUDA tensors of one shape and layout, without gaps");
  launch_add_two_in_place(a.data_ptr<float>(), b.data_ptr<float>(), c.data_ptr<float>(), a.numel(),
                          at::cuda::getCurrentCUDAStream());
  return a;
}

#else

bool channel_rms_norm_applies(const at::Tensor&, const at::Tensor&) { return false; }

at::Tensor channel_rms_norm(const at::Tensor&, const at::Tensor&, bool, const at::Tensor&) {
  throw Error("channel_rms_norm: this build has no CUDA kernels");
}

bool add_two_applies(const at::Tensor&, const at::Tensor&, const at::Tensor&) { return false; }

at::Tensor& add_two_(at::Tensor&, const at::Tensor&, const at::Tensor&) {
  throw Error("add_two_: this build has no CUDA kernels");
}

#endif

}  // namespace wan::cuda
