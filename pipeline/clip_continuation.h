// Clip after clip, as a long video: each clip of an image-conditioned task (i2v, flf2v)
// after the first starts from the last frame of the clip before, at that frame's size, and
// leaves out its own first frame, which repeats that frame. Text-to-video clips are
// independent. The element's `clips` and wan-generate's --clips both run through this.
#pragma once
#include <cstdint>
#include <optional>

#include <ATen/core/Tensor.h>

#include "pipeline/request.h"

namespace wan {

class ClipContinuation {
 public:
  // `request` for the next clip: continued from the last frame kept, when there is one and
  // the request takes an image (the size stays: the max-area rule on the already rounded
  // frame could round to another).
  Request next(Request request);

  // The frames of the current clip to hand on, given each decoded piece in order
  // (uint8 [n, H, W, 3], `first` = the clip's index of its first frame): all of them but a
  // continued clip's first. Keeps the last frame for the next clip.
  at::Tensor frames_to_emit(const at::Tensor& frames, int64_t first);

  bool continued() const { return continued_; }

 private:
  std::optional<RgbImage> last_frame_;
  bool continued_ = false;
};

// The frames a run of `clips` clips of `num_frames` yields (0 clips: endless, -1).
int64_t frames_in_clips(int num_frames, int64_t clips, bool image_conditioned);

}  // namespace wan
