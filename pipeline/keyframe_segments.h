// A long video from keyframes with a first-last-frame-to-video (flf2v) model: N keyframes
// give N - 1 segments, segment k from keyframe k to keyframe k + 1, so neighbours meet at a
// keyframe. That shared frame is output once: every segment after the first leaves out its
// first frame (the keyframe the segment before ended on). The segments run on one pipeline
// per device, handed out as the devices free up, and come out in order
// (pipeline/ordered_segments.h, which states how many frames may wait in host memory).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/ordered_segments.h"
#include "pipeline/pipeline.h"

namespace wan {

struct KeyframeSegments {
  std::vector<RgbImage> keyframes;
  // One prompt per segment, or none: every segment takes the request's prompt.
  std::vector<std::string> prompts;

  int segments() const { return int(keyframes.size()) - 1; }

  // Throws wan::Error: fewer than two keyframes, or a prompt count that is not one per segment.
  void validate() const;

  // Segment `segment`'s request: `base` with keyframes `segment` and `segment` + 1 as its
  // first and last images and its prompt. Every segment gets the first segment's size
  // (base's explicit one, else max_area with the first keyframe's aspect), so that the
  // segments join.
  Request request(const Request& base, int segment) const;
};

// The image paths of a comma-separated list ("a.png,b.png,c.png"; spaces around each are
// dropped). Throws wan::Error on an empty entry.
std::vector<std::string> split_keyframe_list(const std::string& list);

// Frames of a keyframe video of `segments` segments of `num_frames` each.
int64_t keyframe_video_frames(int num_frames, int segments);

struct KeyframeVideoCallbacks {
  // Segment `segment`'s request (KeyframeSegments::request), asked on the worker that makes
  // it, just before; a negative seed is drawn afterwards.
  std::function<Request(int segment)> request;
  // On the segment's worker: before generating (`resolved`: with the task's defaults and
  // the seed used), and after its last frame.
  std::function<void(int segment, const Request& resolved)> on_segment_start;
  std::function<void(int segment, const GenerationResult&)> on_segment_done;
  // The segment's progress and preview hooks (on its worker); on_frames is ignored.
  std::function<GenerationCallbacks(int segment)> generation;
  // The video's frames (uint8 [n, H, W, 3]), in order, each join frame once, on the thread
  // that called generate_keyframe_video.
  std::function<void(int segment, const at::Tensor& frames)> on_frames;
};

// Makes the segments of `ordered` on `pipelines` (pipelines[w] serves worker w) and returns
// after the last frame. Throws what a segment threw (Cancelled after ordered.cancel()).
void generate_keyframe_video(const std::vector<std::shared_ptr<Pipeline>>& pipelines, OrderedSegments& ordered,
                             const KeyframeVideoCallbacks& callbacks);

}  // namespace wan
