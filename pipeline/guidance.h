// Classifier-free guidance: the DiT's flow prediction with the prompt (cond)
// and with the negative prompt (uncond), combined as
// uncond + scale * (cond - uncond).
#pragma once
#include <vector>

#include <ATen/ATen.h>

#include "models/dit/wan_model.h"

namespace wan {

// Everything the DiT sees besides the latent and the timestep.
struct DiTConditioning {
  at::Tensor context;       // [L, text_dim] prompt
  at::Tensor context_null;  // [L', text_dim] negative prompt
  at::Tensor clip_fea;      // i2v [1, 257, 1280], flf2v [2, 257, 1280]; undefined for t2v
  at::Tensor y;             // [4 + z_dim, F, h, w]; undefined for t2v
  int64_t seq_len = 0;
};

struct GuidedPrediction {
  at::Tensor cond, uncond;  // undefined when the scale made that pass unnecessary
  at::Tensor guided;        // what the solver gets
};

// batched: both passes in one forward (a batch of two); otherwise two
// forwards. A scale of 1 needs only the cond pass, a scale of 0 only the uncond one.
GuidedPrediction guided_prediction(WanModelImpl& dit, const at::Tensor& latent, const at::Tensor& timestep,
                                   const DiTConditioning& c, double scale, bool batched,
                                   const BetweenBlocks& between_blocks);

}  // namespace wan
