// cuDNN's fused fp8 attention (Hopper and newer), through NVIDIA's cudnn-frontend graph API:
// softmax(Q K^T * scale) V from e4m3 Q, K, V with per-tensor scales, P quantised to e4m3
// inside the kernel, the output in e4m3. No libtorch here: the caller quantises and owns the
// memory (fp8_attention.h does both for the DiT).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

namespace wan::cuda {

// Q [batch, q_len, heads, head_dim] and K, V, O [batch, kv_len | q_len, heads, head_dim], each
// contiguous (token-major, heads inner), in e4m3.
struct Fp8SdpaShape {
  int64_t batch = 1, heads = 1, q_len = 1, kv_len = 1, head_dim = 128;
  bool key_lengths = false;  // keys past kv_lengths[b] are masked (int32 [batch] on the device)
  float attn_scale = 1.f;
  bool operator==(const Fp8SdpaShape& o) const {
    return batch == o.batch && heads == o.heads && q_len == o.q_len && kv_len == o.kv_len && head_dim == o.head_dim &&
           key_lengths == o.key_lengths && attn_scale == o.attn_scale;
  }
};

// Device pointers of one call. The float32 scalars: descale_x = 1 / scale_x of each e4m3 input;
// scale_s multiplies P before its cast (descale_s undoes it), scale_o multiplies O before its
// cast. amax_s / amax_o receive max|S| and max|O| (unscaled).
struct Fp8SdpaBuffers {
  const void *q = nullptr, *k = nullptr, *v = nullptr;
  void* o = nullptr;
  const float *descale_q = nullptr, *descale_k = nullptr, *descale_v = nullptr;
  const float *descale_s = nullptr, *scale_s = nullptr, *scale_o = nullptr;
  float *amax_s = nullptr, *amax_o = nullptr;
  const int32_t *q_lengths = nullptr, *kv_lengths = nullptr;  // with Fp8SdpaShape::key_lengths
  void* workspace = nullptr;
};

// Whether cuDNN can run this shape on the current device; *why says why not. Builds (and
// caches for the process, per device) the execution plan.
bool fp8_sdpa_supported(const Fp8SdpaShape& shape, std::string* why = nullptr);

// Workspace bytes the call needs (plan built on first use).
int64_t fp8_sdpa_workspace_bytes(const Fp8SdpaShape& shape);

// Enqueues the attention on `stream`; throws wan::Error when cuDNN refuses.
void fp8_sdpa(const Fp8SdpaShape& shape, const Fp8SdpaBuffers& buffers, cudaStream_t stream);

}  // namespace wan::cuda
