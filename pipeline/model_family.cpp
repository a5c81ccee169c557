#include "pipeline/model_family.h"

namespace wan {

Task task_of(DiTModelType type) {
  switch (type) {
    case DiTModelType::T2V: return Task::TextToVideo;
    case DiTModelType::I2V: return Task::ImageToVideo;
    case DiTModelType::FLF2V: return Task::FirstLastFrameToVideo;
  }
  return Task::TextToVideo;
}

SamplingDefaults sampling_defaults(Task task, int width, int height, Solver solver) {
  SamplingDefaults d;
  if (solver == Solver::Distill || solver == Solver::Renoise) {
    d.steps = 4;
    d.shift = 5.0;
    d.guidance_scale = 1.0;
    return d;
  }
  if (task == Task::ImageToVideo) {
    d.steps = 40;
    // generate.py lowers the shift for its 480p sizes (832*480, 480*832); any smaller
    // output is 480p or below too.
    if (static_cast<int64_t>(width) * height <= 832 * 480) d.shift = 3.0;
  } else if (task == Task::FirstLastFrameToVideo) {
    d.shift = 16.0;
  }
  return d;
}

Request with_sampling_defaults(const Request& request, Task task, int width, int height) {
  const SamplingDefaults d = sampling_defaults(task, width, height, request.solver);
  Request r = request;
  if (!r.steps) r.steps = r.timesteps.empty() ? d.steps : static_cast<int>(r.timesteps.size());
  if (!r.shift) r.shift = d.shift;
  if (!r.guidance_scale) r.guidance_scale = d.guidance_scale;
  return r;
}

}  // namespace wan
