#include "models/cuda/fp8_attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "models/common/error.h"
#include "models/cuda/attention_inputs.h"
#include "models/cuda/cuda_device.h"

#ifdef WAN_WITH_FP8_ATTENTION
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "models/cuda/cudnn_fp8_sdpa.h"
#include "models/cuda/fp8_attention_kernels.h"
#endif

namespace wan::cuda {

#ifdef WAN_WITH_FP8_ATTENTION

bool fp8_attention_available(const at::Device& device, std::string* why) {
  auto no = [&](const std::string& reason) {
    if (why) *why = reason;
    return false;
  };
  const int index = cuda_device_index(device, "8-bit attention", why);
  if (index < 0) return false;
  if (at::cuda::getDeviceProperties(index)->major < 9)
    return no(describe_cuda_device(device, index) + " has no fp8 attention in cuDNN: it needs 9.0 (Hopper) or newer");
  // A small shape of the DiT's kind: cuDNN says whether its fp8 engine runs here.
  c10::cuda::CUDAGuard guard(index);
  Fp8SdpaShape probe;
  probe.heads = 2;
  probe.q_len = probe.kv_len = 256;
  probe.attn_scale = 1.f / std::sqrt(128.f);
  std::string reason;
  if (!fp8_sdpa_supported(probe, &reason)) return no("cuDNN's fp8 attention does not run here: " + reason);
  return true;
}

at::Tensor fp8_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const std::vector<int64_t>& key_lengths) {
  check_attention_inputs("fp8 attention", q, k, v, key_lengths);
  const int64_t batch = q.size(0), q_len = q.size(1), heads = q.size(2), head_dim = q.size(3), kv_len = k.size(1);
  const int64_t channels = heads * head_dim;
  if (head_dim % 16 != 0)
    throw Error("fp8 attention: head_dim " + std::to_string(head_dim) + " is not a multiple of 16");
  c10::cuda::CUDAGuard guard(q.device());
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const at::Tensor qb = bf16_aligned(q), kb = bf16_aligned(k), vb = bf16_aligned(v);
  const at::TensorOptions f32 = q.options().dtype(at::kFloat);

  // The shifts: per-channel means over all keys (any vector would do; the mean is the
  // smallest), float32 [B, channels].
  const at::Tensor k_mean = channel_means(kb);
  const at::Tensor v_mean = channel_means(vb);

  // amax of q, k - k_mean, v - v_mean, then the e4m3 copies at 448 / amax.
  at::Tensor amax = at::zeros({3}, f32);
  float* a = amax.data_ptr<float>();
  launch_amax_minus_offset(bf16_data(qb), nullptr, batch, q_len, channels, a, stream);
  launch_amax_minus_offset(bf16_data(kb), k_mean.data_ptr<float>(), batch, kv_len, channels, a + 1, stream);
  launch_amax_minus_offset(bf16_data(vb), v_mean.data_ptr<float>(), batch, kv_len, channels, a + 2, stream);
  const at::TensorOptions bytes = q.options().dtype(at::kByte);
  const at::Tensor q8 = at::empty({batch, q_len, heads, head_dim}, bytes);
  const at::Tensor k8 = at::empty({batch, kv_len, heads, head_dim}, bytes);
  const at::Tensor v8 = at::empty({batch, kv_len, heads, head_dim}, bytes);
  launch_quantize_minus_offset(bf16_data(qb), nullptr, batch, q_len, channels, a, q8.data_ptr<uint8_t>(), stream);
  launch_quantize_minus_offset(bf16_data(kb), k_mean.data_ptr<float>(), batch, kv_len, channels, a + 1,
                               k8.data_ptr<uint8_t>(), stream);
  launch_quantize_minus_offset(bf16_data(vb), v_mean.data_ptr<float>(), batch, kv_len, channels, a + 2,
                               v8.data_ptr<uint8_t>(), stream);
  C10_CUDA_KERNEL_LAUNCH_CHECK();

  // cuDNN's scalars: descales amax / 448 for q, k, v; P in [0, 1] scaled by 448; O bounded by
  // max |v - v_mean| (a convex combination of those rows), so scale_o = 448 / amax_v.
  constexpr double kE4M3Max = 448.0;
  const at::Tensor safe = amax.clamp_min(1e-30);
  const at::Tensor descales = safe / kE4M3Max;
  // Filled on the device: a copy from host memory would wait for the stream.
  const at::Tensor descale_s = at::full({1}, 1.0 / kE4M3Max, f32), scale_s = at::full({1}, kE4M3Max, f32);
  const at::Tensor scale_o = kE4M3Max / safe.slice(0, 2, 3);
  at::Tensor amax_out = at::empty({2}, f32);

  Fp8SdpaShape shape;
  shape.batch = batch;
  shape.heads = heads;
  shape.q_len = q_len;
  shape.kv_len = kv_len;
  shape.head_dim = head_dim;
  shape.attn_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  at::Tensor q_lengths, kv_lengths;
  if (!key_lengths.empty()) {
    shape.key_lengths = std::any_of(key_lengths.begin(), key_lengths.end(), [&](int64_t n) { return n != kv_len; });
    if (shape.key_lengths) {
      q_lengths = at::full({batch}, q_len, q.options().dtype(at::kInt));
      kv_lengths = at::tensor(key_lengths, at::kLong).to(at::kInt).to(q.device(), /*non_blocking=*/true);
    }
  }
  const at::Tensor o8 = at::empty({batch, q_len, heads, head_dim}, bytes);
  const at::Tensor workspace = at::empty({std::max<int64_t>(1, fp8_sdpa_workspace_bytes(shape))}, bytes);

  Fp8SdpaBuffers buffers;
  buffers.q = q8.data_ptr();
  buffers.k = k8.data_ptr();
  buffers.v = v8.data_ptr();
  buffers.o = o8.data_ptr();
  buffers.descale_q = descales.data_ptr<float>();
  buffers.descale_k = descales.data_ptr<float>() + 1;
  buffers.descale_v = descales.data_ptr<float>() + 2;
  buffers.descale_s = descale_s.data_ptr<float>();
  buffers.scale_s = scale_s.data_ptr<float>();
  buffers.scale_o = scale_o.data_ptr<float>();
  buffers.amax_s = amax_out.data_ptr<float>();
  buffers.amax_o = amax_out.data_ptr<float>() + 1;
  if (shape.key_lengths) {
    buffers.q_lengths = q_lengths.data_ptr<int32_t>();
    buffers.kv_lengths = kv_lengths.data_ptr<int32_t>();
  }
  buffers.workspace = workspace.data_ptr();
  fp8_sdpa(shape, buffers, stream);

  at::Tensor out = at::empty({batch, q_len, heads, head_dim}, q.options().dtype(at::kBFloat16));
  launch_dequantize_plus_offset(o8.data_ptr<uint8_t>(), v_mean.data_ptr<float>(), batch, q_len, channels, a + 2,
                                reinterpret_cast<uint16_t*>(out.data_ptr()), stream);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

#else

bool fp8_attention_available(const at::Device&, std::string* why) {
  if (why) *why = "this build has no 8-bit attention (it needs -Dcuda=enabled with cuDNN's frontend)";
  return false;
}

at::Tensor fp8_attention(const at::Tensor&, const at::Tensor&, const at::Tensor&, const std::vector<int64_t>&) {
  throw Error("this build has no 8-bit attention (it needs -Dcuda=enabled with cuDNN's frontend)");
}

#endif

}  // namespace wan::cuda
