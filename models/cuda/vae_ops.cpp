#include "models/cuda/vae_ops.h"

#include "models/common/error.h"

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

bool float32_cuda(const at::Tensor& t) { return t.is_cuda() && t.scalar_type() == at::kFloat; }

// C contiguous values on 16 bytes, read as float4.
bool channel_vector(const at::Tensor& bias, int64_t channels) {
  return float32_cuda(bias) && bias.numel() == channels && bias.is_contiguous() &&
         reinterpret_cast<uintptr_t>(bias.data_ptr()) % 16 == 0;
}

bool channels_last(const at::Tensor& x) {
  if (x.dim() != 4 && x.dim() != 5) return false;
  const auto format = x.dim() == 5 ? at::MemoryFormat::ChannelsLast3d : at::MemoryFormat::ChannelsLast;
  // A single position or channel makes every layout "contiguous"; require the real one.
  return x.stride(1) == 1 && x.is_contiguous(format);
}

}  // namespace

bool channel_rms_norm_applies(const at::Tensor& x, const at::Tensor& plus, const at::Tensor& bias) {
  if (!float32_cuda(x) || !channels_last(x) || x.size(1) % 4 != 0 || x.size(1) > 1024) return false;
  if (plus.defined() && (!float32_cuda(plus) || !laid_out_alike(x, plus))) return false;
  return !bias.defined() || channel_vector(bias, x.size(1));
}

at::Tensor channel_rms_norm(const at::Tensor& x, const at::Tensor& gamma, bool silu, const at::Tensor& plus,
                            const at::Tensor& bias) {
  if (!channel_rms_norm_applies(x, plus, bias))
    throw Error(
        "channel_rms_norm: expected a channels-last float32 CUDA tensor with a multiple of 4 channels (and added "
        "terms of its shape and strides, or one per channel)");
  const at::Tensor g = gamma.contiguous();
  if (!g.is_cuda() || g.scalar_type() != at::kFloat || g.numel() != x.size(1))
    throw Error("channel_rms_norm: gamma must be a float32 CUDA tensor with one value per channel");
  at::Tensor out = at::empty_like(x);  // keeps the channels-last layout
  const int64_t outer = x.size(0), inner = x.numel() / (outer * x.size(1));
  launch_channel_rms_norm(x.data_ptr<float>(), plus.defined() ? plus.data_ptr<float>() : nullptr,
                          bias.defined() ? bias.data_ptr<float>() : nullptr, x.stride(0), g.data_ptr<float>(),
                          out.data_ptr<float>(), out.stride(0), outer, inner, x.size(1), silu,
                          at::cuda::getCurrentCUDAStream());
  return out;
}

bool residual_sum_applies(const at::Tensor& out, const at::Tensor& plus, const at::Tensor& bias,
                          const at::Tensor& skip) {
  if (!float32_cuda(out) || !channels_last(out) || !float32_cuda(skip) || !laid_out_alike(out, skip)) return false;
  if (plus.defined() && (!float32_cuda(plus) || !laid_out_alike(out, plus))) return false;
  return !bias.defined() || channel_vector(bias, out.size(1));
}

at::Tensor& residual_sum_(at::Tensor& out, const at::Tensor& plus, const at::Tensor& bias, const at::Tensor& skip) {
  if (!residual_sum_applies(out, plus, bias, skip))
    throw Error("residual_sum_: expected channels-last float32 CUDA tensors of one shape and layout");
  launch_residual_sum(out.data_ptr<float>(), plus.defined() ? plus.data_ptr<float>() : nullptr,
                      bias.defined() ? bias.data_ptr<float>() : nullptr, skip.data_ptr<float>(), out.numel(),
                      out.size(1), at::cuda::getCurrentCUDAStream());
  return out;
}

#else

bool channel_rms_norm_applies(const at::Tensor&, const at::Tensor&, const at::Tensor&) { return false; }

at::Tensor channel_rms_norm(const at::Tensor&, const at::Tensor&, bool, const at::Tensor&, const at::Tensor&) {
  throw Error("channel_rms_norm: this build has no CUDA kernels");
}

bool residual_sum_applies(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&) { return false; }

at::Tensor& residual_sum_(at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&) {
  throw Error("residual_sum_: this build has no CUDA kernels");
}

#endif

}  // namespace wan::cuda
