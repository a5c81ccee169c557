#include "pipeline/keyframe_segments.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include "models/common/error.h"
#include "pipeline/seeded_noise.h"
#include "pipeline/video_geometry.h"

namespace wan {

void KeyframeSegments::validate() const {
  if (keyframes.size() < 2)
    throw Error("keyframes: a video from keyframes needs at least two (got " + std::to_string(keyframes.size()) +
                "); segment k runs from keyframe k to keyframe k + 1");
  if (!prompts.empty() && int(prompts.size()) != segments())
    throw Error("prompts: " + std::to_string(prompts.size()) + " prompt(s) for " + std::to_string(segments()) +
                " segment(s) between " + std::to_string(keyframes.size()) +
                " keyframes; give one per segment, or none to use prompt for all");
}

Request KeyframeSegments::request(const Request& base, int segment) const {
  validate();
  if (segment < 0 || segment >= segments())
    throw Error("keyframe segment " + std::to_string(segment) + " out of range (0.." + std::to_string(segments() - 1) +
                ")");
  Request r = base;
  if (r.width <= 0 || r.height <= 0) {
    Request first = base;
    first.image = keyframes[0];
    const VideoGeometry g = request_geometry(first);
    r.width = g.width;
    r.height = g.height;
  }
  r.image = keyframes[size_t(segment)];
  r.last_image = keyframes[size_t(segment) + 1];
  if (!prompts.empty()) r.prompt = prompts[size_t(segment)];
  return r;
}

std::vector<std::string> split_keyframe_list(const std::string& list) {
  std::vector<std::string> paths;
  size_t begin = 0;
  for (;;) {
    const size_t end = list.find(',', begin);
    std::string path = list.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    const size_t first = path.find_first_not_of(" \t"), last = path.find_last_not_of(" \t");
    path = first == std::string::npos ? "" : path.substr(first, last - first + 1);
    if (path.empty())
      throw Error("keyframes '" + list + "': entry " + std::to_string(paths.size() + 1) +
                  " is empty (expected image paths separated by commas)");
    paths.push_back(path);
    if (end == std::string::npos) return paths;
    begin = end + 1;
  }
}

int64_t keyframe_video_frames(int num_frames, int segments) {
  if (segments <= 0) return 0;
  return int64_t{num_frames} * segments - (segments - 1);
}

void generate_keyframe_video(const std::vector<std::shared_ptr<Pipeline>>& pipelines, OrderedSegments& ordered,
                             const KeyframeVideoCallbacks& callbacks) {
  if (int(pipelines.size()) != ordered.workers())
    throw Error("keyframe video: " + std::to_string(pipelines.size()) + " pipeline(s) for " +
                std::to_string(ordered.workers()) + " worker(s)");
  const auto produce = [&](int worker, int segment, const OrderedSegments::Sink& sink, const CancelToken& cancel) {
    c10::InferenceMode inference_mode;  // thread-local: each worker thread sets its own
    Pipeline& pipeline = *pipelines[size_t(worker)];
    Request request = callbacks.request(segment);
    if (request.seed < 0) request.seed = draw_random_seed();
    const Request resolved = pipeline.with_defaults(request);
    if (callbacks.on_segment_start) callbacks.on_segment_start(segment, resolved);
    GenerationCallbacks generation = callbacks.generation ? callbacks.generation(segment) : GenerationCallbacks{};
    generation.on_frames = [&](const at::Tensor& frames, int64_t first) {
      // The first frame of a later segment is the keyframe the segment before ended on.
      sink(segment > 0 && first == 0 ? frames.slice(0, 1) : frames);
    };
    const GenerationResult result = pipeline.generate(resolved, generation, cancel);
    if (callbacks.on_segment_done && !cancel.cancelled()) callbacks.on_segment_done(segment, result);
  };
  ordered.run(produce, callbacks.on_frames);
}

}  // namespace wan
