// Which attention the DiT blocks' self-attention runs: the exact one in the compute dtype, or
// one of the lossy 8-bit kernels (cuda/fp8_attention.h, cuda/int8_attention.h), chosen at load.
#pragma once

namespace wan {

enum class SelfAttentionKind {
  exact,  // attention.h, in the compute dtype
  fp8,    // cuDNN's fp8 SDPA
  int8,   // our Hopper kernel, every product in 8-bit integers
};

// The name users set it by ("exact", "fp8", "int8").
inline const char* self_attention_name(SelfAttentionKind kind) {
  switch (kind) {
    case SelfAttentionKind::fp8: return "fp8";
    case SelfAttentionKind::int8: return "int8";
    case SelfAttentionKind::exact: break;
  }
  return "exact";
}

}  // namespace wan
