#include "models/cuda/vae_ops.h"

#include "models/error.h"

#ifdef WAN_WITH_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>

#include "models/cuda/channel_rms_norm_kernel.h"
#endif

namespace wan::cuda {

#ifdef WAN_WITH_CUDA_KERNELS

bool channel_rms_norm_applies(const at::Tensor& x) {
  if (!x.is_cuda() || x.scalar_type() != at::kFloat || (x.dim() != 4 && x.dim() != 5)) return false;
  const int64_t c = x.size(1);
  const auto format = x.dim() == 5 ? at::MemoryFormat::ChannelsLast3d : at::MemoryFormat::ChannelsLast;
  // A single position or channel makes every layout "contiguous"; require the real one.
  return c % 4 == 0 && c <= 1024 && x.stride(1) == 1 && x.is_contiguous(format);
}

at::Tensor channel_rms_norm(const at::Tensor& x, const at::Tensor& gamma, bool silu) {
  if (!channel_rms_norm_applies(x))
    throw Error("channel_rms_norm: expected a channels-last float32 CUDA tensor with a multiple of 4 channels");
  const at::Tensor g = gamma.contiguous();
  if (!g.is_cuda() || g.scalar_type() != at::kFloat || g.numel() != x.size(1))
    throw Error("channel_rms_norm: gamma must be a float32 CUDA tensor with one value per channel");
  at::Tensor out = at::empty_like(x);  // keeps the channels-last layout
  const int64_t outer = x.size(0), inner = x.numel() / (outer * x.size(1));
  launch_channel_rms_norm(x.data_ptr<float>(), x.stride(0), g.data_ptr<float>(), out.data_ptr<float>(), out.stride(0),
                          outer, inner, x.size(1), silu, at::cuda::getCurrentCUDAStream());
  return out;
}

#else

bool channel_rms_norm_applies(const at::Tensor&) { return false; }

at::Tensor channel_rms_norm(const at::Tensor&, const at::Tensor&, bool) {
  throw Error("channel_rms_norm: this build has no CUDA kernels");
}

#endif

}  // namespace wan::cuda
