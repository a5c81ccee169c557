#include "models/dit/attention.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "models/common/error.h"

namespace wan::dit {
namespace {

// Bounds the CPU logits buffer so long videos do not need Lq x Lk x heads floats at once.
constexpr int64_t kMaxLogitsBytes = int64_t{256} << 20;

std::vector<int64_t> key_lengths(const at::Tensor& k_lens, int64_t batch, int64_t keys) {
  std::vector<int64_t> lens(batch, keys);
  if (!k_lens.defined()) return lens;
  const at::Tensor cpu = k_lens.to(at::kCPU, at::kLong).contiguous();
  if (cpu.numel() != batch)
    throw Error("attention: k_lens has " + std::to_string(cpu.numel()) + " entries for a batch of " +
                std::to_string(batch));
  for (int64_t b = 0; b < batch; ++b) {
    lens[b] = cpu.data_ptr<int64_t>()[b];
    if (lens[b] < 1 || lens[b] > keys)
      throw Error("attention: key length " + std::to_string(lens[b]) + " outside [1, " + std::to_string(keys) + "]");
  }
  return lens;
}

at::Tensor exact_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const std::vector<int64_t>& lens) {
  // [B, heads, L, head_dim]
  const at::Tensor qh = q.to(at::kFloat).transpose(1, 2);
  const at::Tensor kh = k.to(at::kFloat).transpose(1, 2);
  const at::Tensor vh = v.to(at::kFloat).transpose(1, 2);
  const int64_t batch = q.size(0), heads = q.size(2), queries = q.size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));

  std::vector<at::Tensor> samples;
  for (int64_t b = 0; b < batch; ++b) {
    // Dropping the padded keys equals masking them with -inf before the softmax.
    const at::Tensor keys = kh[b].slice(1, 0, lens[b]);
    const at::Tensor values = vh[b].slice(1, 0, lens[b]);
    const int64_t rows = std::max<int64_t>(1, kMaxLogitsBytes / (4 * heads * lens[b]));
    std::vector<at::Tensor> chunks;
    for (int64_t start = 0; start < queries; start += rows) {
      const at::Tensor qc = qh[b].slice(1, start, std::min(queries, start + rows));
      const at::Tensor weights = at::softmax(at::matmul(qc, keys.transpose(1, 2)) * scale, -1);
      chunks.push_back(at::matmul(weights, values));
    }
    samples.push_back(at::cat(chunks, 1));
  }
  return at::stack(samples).transpose(1, 2);
}

}  // namespace

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens) {
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4 || k.sizes() != v.sizes() || q.size(0) != k.size(0) ||
      q.size(2) != k.size(2) || q.size(3) != k.size(3))
    throw Error("attention: expected q [B, Lq, heads, d] and k, v [B, Lk, heads, d]");
  const std::vector<int64_t> lens = key_lengths(k_lens, q.size(0), k.size(1));

#if TORCH_VERSION_MAJOR >= 2
  if (q.is_cuda()) {
    const auto dtype = v.scalar_type();
    c10::optional<at::Tensor> mask;
    if (std::any_of(lens.begin(), lens.end(), [&](int64_t n) { return n < k.size(1); })) {
      const at::Tensor positions = at::arange(k.size(1), q.options().dtype(at::kLong));
      const at::Tensor limits = at::tensor(lens, at::kLong).to(q.device());
      mask = (positions.unsqueeze(0) < limits.unsqueeze(1)).view({q.size(0), 1, 1, k.size(1)});
    }
    return at::scaled_dot_product_attention(q.to(dtype).transpose(1, 2), k.to(dtype).transpose(1, 2), v.transpose(1, 2),
                                            mask)
        .transpose(1, 2);
  }
#endif
  return exact_attention(q, k, v, lens);
}

}  // namespace wan::dit
