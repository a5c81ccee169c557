#include "models/cuda/int8_attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "models/common/error.h"
#include "models/cuda/attention_inputs.h"
#include "models/cuda/cuda_device.h"

#ifdef WAN_WITH_INT8_ATTENTION
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "models/cuda/int8_attention_kernel.h"
#include "models/cuda/int8_attention_quantize.h"
#endif

namespace wan::cuda {

#ifdef WAN_WITH_INT8_ATTENTION

namespace {

constexpr int64_t kD = kInt8AttentionHeadDim, kTile = kInt8AttentionTile;

int64_t rounded_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

}  // namespace

bool int8_attention_available(const at::Device& device, std::string* why) {
  const int index = cuda_device_index(device, "8-bit attention", why);
  if (index < 0) return false;
  const char* reason = nullptr;
  if (!int8_attention_kernel_runs_on(index, &reason)) {
    if (why) *why = describe_cuda_device(device, index) + ": " + reason;
    return false;
  }
  return true;
}

at::Tensor int8_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                          const std::vector<int64_t>& key_lengths) {
  check_attention_inputs("8-bit attention", q, k, v, key_lengths);
  if (q.size(3) != kD) throw Error("8-bit attention: head_dim " + std::to_string(q.size(3)) + " is not 128");
  const int64_t batch = q.size(0), q_len = q.size(1), heads = q.size(2), kv_len = k.size(1);
  c10::cuda::CUDAGuard guard(q.device());
  const cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const int64_t q_rows = rounded_up(q_len, kTile), key_rows = rounded_up(kv_len, kTile), channels = heads * kD;
  const at::Tensor qb = bf16_aligned(q), kb = bf16_aligned(k), vb = bf16_aligned(v);
  const at::TensorOptions f32 = q.options().dtype(at::kFloat), i8 = q.options().dtype(at::kChar);
  const int B = static_cast<int>(batch), H = static_cast<int>(heads);

  // Q per row, the softmax's scale and log2(e) folded into its scales.
  constexpr double kLog2e = 1.4426950408889634;
  const at::Tensor q8 = at::empty({batch, heads, q_rows, kD}, i8), q_scale = at::empty({batch, heads, q_rows}, f32);
  launch_quantize_rows(bf16_data(qb), nullptr, B, static_cast<int>(q_len), H, static_cast<int>(q_rows),
                       static_cast<float>(kLog2e / std::sqrt(double(kD))), q8.data_ptr<int8_t>(),
                       q_scale.data_ptr<float>(), stream);

  // K less its per-channel mean, per key; the scales beside the shifts the kernel takes off.
  const at::Tensor k_mean = channel_means(kb);
  const at::Tensor k8 = at::empty({batch, heads, key_rows, kD}, i8),
                   k_scale = at::empty({batch, heads, key_rows / 2, 4}, f32);
  launch_quantize_keys(bf16_data(kb), k_mean.data_ptr<float>(), B, static_cast<int>(kv_len), H,
                       static_cast<int>(key_rows), k8.data_ptr<int8_t>(), k_scale.data_ptr<float>(), stream);

  // V less its per-channel mean, per channel, transposed tile by tile with its keys reordered. The rounding
  // errors of a channel share a bias (bf16 values sit on a grid the int8 one aliases): the mean
  // added back to the output is that of the rounded values, so rows that spread over many keys
  // (where the bias would not average out) stay exact in the limit.
  const at::Tensor v_mean = channel_means(vb);
  const at::Tensor v_amax = at::zeros({batch, channels}, f32);
  launch_channel_absmax(bf16_data(vb), v_mean.data_ptr<float>(), B, static_cast<int>(kv_len), H,
                        v_amax.data_ptr<float>(), stream);
  const at::Tensor v_scale = v_amax / 127.0;
  const at::Tensor v8 = at::empty({batch, heads, key_rows / kTile, kD, kTile}, i8);
  const at::Tensor tile_errors = at::empty({batch, key_rows / kTile, channels}, f32);
  launch_quantize_values_transposed(bf16_data(vb), v_mean.data_ptr<float>(), v_scale.data_ptr<float>(), B,
                                    static_cast<int>(kv_len), H, static_cast<int>(key_rows), v8.data_ptr<int8_t>(),
                                    tile_errors.data_ptr<float>(), stream);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  const at::Tensor v_offset = v_mean + tile_errors.sum(1) / static_cast<double>(kv_len);

  // Uploaded only where some sample has fewer keys: the DiT passes its lengths at every layer.
  at::Tensor lengths;
  if (std::any_of(key_lengths.begin(), key_lengths.end(), [&](int64_t n) { return n != kv_len; }))
    lengths = at::tensor(key_lengths, at::kLong).to(at::kInt).to(q.device(), /*non_blocking=*/true);
  at::Tensor out = at::empty({batch, q_len, heads, kD}, q.options().dtype(at::kBFloat16));

  Int8AttentionArgs args;
  args.q = q8.data_ptr<int8_t>();
  args.k = k8.data_ptr<int8_t>();
  args.v_t = v8.data_ptr<int8_t>();
  args.q_scale = q_scale.data_ptr<float>();
  args.k_scale = k_scale.data_ptr<float>();
  args.v_scale = v_scale.data_ptr<float>();
  args.v_mean = v_offset.data_ptr<float>();
  args.key_lengths = lengths.defined() ? lengths.data_ptr<int32_t>() : nullptr;
  args.out = reinterpret_cast<uint16_t*>(out.data_ptr());
  args.batch = B;
  args.heads = H;
  args.q_len = static_cast<int>(q_len);
  args.q_rows = static_cast<int>(q_rows);
  args.key_len = static_cast<int>(kv_len);
  args.key_rows = static_cast<int>(key_rows);
  launch_int8_attention(args, stream);
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

#else

bool int8_attention_available(const at::Device&, std::string* why) {
  if (why) *why = "this build has no 8-bit attention kernel (it needs -Dcuda=enabled)";
  return false;
}

at::Tensor int8_attention(const at::Tensor&, const at::Tensor&, const at::Tensor&, const std::vector<int64_t>&) {
  throw Error("this build has no 8-bit attention kernel (it needs -Dcuda=enabled)");
}

#endif

}  // namespace wan::cuda
