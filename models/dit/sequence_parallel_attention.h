// Ulysses sequence parallelism around the DiT self-attention: each rank holds the full
// weights and a contiguous slice of the tokens. Before attention an all-to-all trades
// token slices for head groups (every rank then sees all tokens of heads/world heads),
// after it a second all-to-all trades them back. Cross-attention needs no exchange: its
// keys (the text / image context) are whole on every rank.
//
// Head counts that do not divide by the world (40 heads over 3 or 6 ranks) are padded
// with zero heads, whose outputs are dropped; the wasted work is at most world-1 heads.
//
// Not wired into WanModel yet. The DiT integration needs: pad the tokens after the patch
// embedding (pad_tokens_to_multiple) and keep this rank's split_sequence slice; slice the
// RoPE table per rank the same way (the rotation depends on the global token position);
// keep k_lens as the global true token counts; run the blocks on the local slice; and
// all_gather_cat the tokens (dim 1) before the head / unpatchify, dropping the padding.
#pragma once

#include <ATen/ATen.h>

#include "models/dit/communicator.h"

namespace wan::dit {

// q, k, v: [B, L_local, heads, head_dim], this rank's token slice (every rank the same
// L_local). k_lens: int64 [B], the true token counts of the whole sequence (padded
// tokens at the end never act as keys); undefined = all world * L_local tokens.
// Returns attention() of the whole sequence, for this rank's tokens: [B, L_local, heads, head_dim].
at::Tensor sequence_parallel_attention(Communicator& comm, const at::Tensor& q, const at::Tensor& k,
                                       const at::Tensor& v, const at::Tensor& k_lens = {});

}  // namespace wan::dit
