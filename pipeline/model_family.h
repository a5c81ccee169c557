// The Wan2.1 model family as the official generate.py runs it: which task a DiT does,
// and the sampling settings each task and size gets when the user names none. The
// element and wan-generate both take their defaults from here.
#pragma once
#include "models/dit/dit_config.h"
#include "pipeline/request.h"

namespace wan {

// The task a checkpoint's DiT does.
Task task_of(DiTModelType type);

struct SamplingDefaults {
  int steps = 50;               // generate.py: 40 for i2v, 50 for t2v and flf2v
  double shift = 5.0;           // 3.0 for i2v at 480p (832x480 or less), 16 for flf2v
  double guidance_scale = 5.0;  // every task; 1 (no uncond pass) for the few-step samplers
  int num_frames = 81;          // 4n+1
  int fps = 16;                 // the released models' sample_fps
};

// width x height: the output size (480p i2v samples with a smaller shift). The few-step
// samplers (Solver::Distill, Solver::Renoise) take the distilled models' settings instead:
// 4 steps, shift 5, guidance 1 (LightX2V's configs/distill/wan21).
SamplingDefaults sampling_defaults(Task task, int width, int height, Solver solver = Solver::UniPC);

// `request` with every unset sampling setting (steps, shift, guidance scale) given the
// task's default for that output size.
Request with_sampling_defaults(const Request& request, Task task, int width, int height);

}  // namespace wan
