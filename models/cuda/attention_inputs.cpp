#include "models/cuda/attention_inputs.h"

#include <cstdint>

#include "models/common/error.h"

namespace wan::cuda {

void check_attention_inputs(const std::string& who, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const std::vector<int64_t>& key_lengths) {
  if (q.dim() != 4 || k.dim() != 4 || k.sizes() != v.sizes() || q.size(0) != k.size(0) || q.size(2) != k.size(2) ||
      q.size(3) != k.size(3))
    throw Error(who + ": expected q [B, Lq, heads, d] and k, v [B, Lk, heads, d]");
  if (!q.is_cuda() || k.device() != q.device() || v.device() != q.device())
    throw Error(who + ": q, k and v must be on one CUDA device");
  const int64_t batch = q.size(0), kv_len = k.size(1);
  if (q.size(1) == 0 || kv_len == 0) throw Error(who + ": no queries or no keys");
  if (key_lengths.empty()) return;
  if (static_cast<int64_t>(key_lengths.size()) != batch)
    throw Error(who + ": " + std::to_string(key_lengths.size()) + " key lengths for a batch of " +
                std::to_string(batch));
  for (const int64_t n : key_lengths)
    if (n < 1 || n > kv_len)
      throw Error(who + ": key length " + std::to_string(n) + " outside [1, " + std::to_string(kv_len) + "]");
}

at::Tensor bf16_aligned(const at::Tensor& t) {
  at::Tensor c = t.to(at::kBFloat16).contiguous();
  if (reinterpret_cast<std::uintptr_t>(c.data_ptr()) % 16 != 0) c = c.clone();
  return c;
}

at::Tensor channel_means(const at::Tensor& x) {
  return x.view({x.size(0), x.size(1), x.size(2) * x.size(3)}).mean(1, /*keepdim=*/false, at::kFloat).contiguous();
}

}  // namespace wan::cuda
