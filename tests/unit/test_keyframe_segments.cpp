// Long videos from keyframes without models: the in-order segment scheduler with fake
// producers that finish out of order, its bound, failures and cancellation; the keyframe
// segments' requests; the join frames on fake pipelines; device lists.
#include <ATen/ATen.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "models/common/error.h"
#include "pipeline/device_name.h"
#include "pipeline/keyframe_segments.h"
#include "pipeline/ordered_segments.h"
#include "tests/unit/check.h"

using namespace std::chrono_literals;
using wan::OrderedSegments;

namespace {

// One 1x1 frame whose red value names it: segment * 16 + index.
at::Tensor frame_piece(int segment, int first, int count) {
  at::Tensor t = at::empty({count, 1, 1, 3}, at::kByte);
  for (int i = 0; i < count; ++i) t[i].fill_(segment * 16 + first + i);
  return t;
}

std::vector<int> values_of(const at::Tensor& frames) {
  std::vector<int> v;
  for (int64_t i = 0; i < frames.size(0); ++i) v.push_back(frames[i][0][0][0].item<int>());
  return v;
}

// Every frame of every segment, in order (4 frames per segment).
std::vector<int> in_order(int segments) {
  std::vector<int> v;
  for (int s = 0; s < segments; ++s)
    for (int i = 0; i < 4; ++i) v.push_back(s * 16 + i);
  return v;
}

struct Collected {
  std::mutex mutex;
  std::vector<int> values;
  std::vector<int> segments;  // the segment of each emitted piece
  OrderedSegments::Emit emit() {
    return [this](int segment, const at::Tensor& frames) {
      std::lock_guard<std::mutex> lock(mutex);
      for (int v : values_of(frames)) values.push_back(v);
      segments.push_back(segment);
    };
  }
};

// Segment 0 is held back until segment 1 has finished on the other worker: segment 1's
// frames wait, then come out after all of segment 0's.
void later_segment_finishing_first_waits() {
  OrderedSegments ordered(2, 4);
  std::promise<void> second_done;
  std::shared_future<void> second = second_done.get_future().share();
  Collected out;
  ordered.run(
      [&](int, int segment, const OrderedSegments::Sink& sink, const wan::CancelToken&) {
        if (segment == 0) {
          sink(frame_piece(0, 0, 2));  // streams through at once
          second.wait();
        }
        sink(frame_piece(segment, segment == 0 ? 2 : 0, segment == 0 ? 2 : 4));
        if (segment == 1) second_done.set_value();
      },
      out.emit());
  EXPECT_MSG(out.values == in_order(4), "frames come out in segment order although segment 1 finished first");
  EXPECT(ordered.most_segments_waiting() == 1);
}

// Producers that finish in every order (later segments sooner): order kept, and never more
// than workers - 1 finished segments waiting, nor a segment started workers or more ahead.
void bound_holds_with_many_workers() {
  const int workers = 3, segments = 10;
  OrderedSegments ordered(workers, segments);
  std::atomic<int> emitted_segments{0};  // segments whose frames are all out
  std::atomic<int> started_too_early{0};
  Collected out;
  int current = 0;
  ordered.run(
      [&](int, int segment, const OrderedSegments::Sink& sink, const wan::CancelToken&) {
        // Every segment before `emitted_segments` is out, and the one after may be: the
        // scheduler starts no segment `workers` beyond that.
        if (segment >= emitted_segments.load() + 1 + workers) started_too_early++;
        // Every third segment slow: without the bound the others would run far ahead.
        std::this_thread::sleep_for(segment % 3 == 0 ? 40ms : 2ms);
        sink(frame_piece(segment, 0, 4));
      },
      [&](int segment, const at::Tensor& frames) {
        if (segment != current) emitted_segments.store(current = segment);  // the ones before are out
        out.emit()(segment, frames);
      });
  EXPECT(out.values == in_order(segments));
  EXPECT_MSG(started_too_early.load() == 0, "a segment started beyond the bound");
  EXPECT(ordered.most_segments_waiting() <= workers - 1);
}

// One worker: one segment after another, never two at once.
void one_worker_runs_one_after_another() {
  OrderedSegments ordered(1, 3);
  std::atomic<int> running{0}, most{0};
  Collected out;
  ordered.run(
      [&](int worker, int segment, const OrderedSegments::Sink& sink, const wan::CancelToken&) {
        EXPECT(worker == 0);
        most = std::max(most.load(), ++running);
        std::this_thread::sleep_for(5ms);
        sink(frame_piece(segment, 0, 4));
        --running;
      },
      out.emit());
  EXPECT(most.load() == 1);
  EXPECT(out.values == in_order(3));
  EXPECT(ordered.most_segments_waiting() == 0);
}

// A failing segment stops the others (they see the cancel) and its error comes out of run().
void failure_cancels_the_others() {
  OrderedSegments ordered(2, 4);
  std::atomic<bool> other_saw_cancel{false};
  Collected out;
  EXPECT_ERROR(ordered.run(
                   [&](int, int segment, const OrderedSegments::Sink&, const wan::CancelToken& cancel) {
                     if (segment == 1) throw wan::Error("segment 1 failed");
                     for (int i = 0; i < 1000 && !cancel.cancelled(); ++i) std::this_thread::sleep_for(5ms);
                     other_saw_cancel = cancel.cancelled();
                     throw wan::Cancelled();
                   },
                   out.emit()),
               "segment 1 failed");
  EXPECT(other_saw_cancel.load());
}

// cancel() from another thread ends run() with Cancelled, the producers stopped.
void cancel_ends_run() {
  OrderedSegments ordered(2, 3);
  Collected out;
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    ordered.cancel();
  });
  bool cancelled = false;
  try {
    ordered.run(
        [&](int, int, const OrderedSegments::Sink&, const wan::CancelToken& cancel) {
          while (!cancel.cancelled()) std::this_thread::sleep_for(2ms);
          throw wan::Cancelled();
        },
        out.emit());
  } catch (const wan::Cancelled&) {
    cancelled = true;
  }
  stopper.join();
  EXPECT(cancelled);
}

wan::RgbImage image(int width, int height, uint8_t value) {
  wan::RgbImage img;
  img.width = width, img.height = height;
  img.pixels.assign(size_t(width) * height * 3, value);
  return img;
}

void segment_requests() {
  wan::KeyframeSegments k;
  k.keyframes = {image(160, 96, 10)};
  EXPECT_ERROR(k.validate(), "at least two");
  k.keyframes = {image(160, 96, 10), image(160, 96, 20), image(96, 160, 30)};
  EXPECT(k.segments() == 2);
  k.prompts = {"only one"};
  EXPECT_ERROR(k.validate(), "1 prompt(s) for 2 segment(s)");
  k.prompts = {"walks", "runs"};
  wan::Request base;
  base.prompt = "the base prompt";
  base.max_area = 160 * 96;
  const wan::Request second = k.request(base, 1);
  EXPECT(second.image && second.image->pixels[0] == 20 && second.last_image && second.last_image->pixels[0] == 30);
  EXPECT(second.prompt == "runs");
  EXPECT_MSG(second.width == 160 && second.height == 96, "every segment at the first keyframe's size");
  EXPECT(second.task() == wan::Task::FirstLastFrameToVideo);
  k.prompts.clear();
  EXPECT(k.request(base, 0).prompt == "the base prompt");
  EXPECT_ERROR(k.request(base, 2), "out of range");
  EXPECT(wan::keyframe_video_frames(9, 2) == 17 && wan::keyframe_video_frames(81, 1) == 81);
}

// Frames of a segment: its first image's value + index, so joins are visible.
class FakePipeline : public wan::Pipeline {
 public:
  wan::Task task() const override { return wan::Task::FirstLastFrameToVideo; }
  std::pair<int, int> output_size(const wan::Request& r) const override { return {r.width, r.height}; }
  wan::Request with_defaults(const wan::Request& r) const override { return r; }
  wan::GenerationResult generate(const wan::Request& r, const wan::GenerationCallbacks& cb,
                                 const wan::CancelToken&) override {
    const int start = r.image->pixels[0], end = r.last_image->pixels[0];
    at::Tensor frames = at::empty({r.num_frames, 1, 1, 3}, at::kByte);
    for (int i = 0; i < r.num_frames; ++i)
      frames[i].fill_(start + (end - start) * i / (r.num_frames - 1));  // ends exactly on the keyframes
    cb.on_frames(frames.slice(0, 0, 1), 0);  // as the VAE decodes: the first frame alone, then the rest
    cb.on_frames(frames.slice(0, 1), 1);
    wan::GenerationResult result;
    result.seed = r.seed;
    return result;
  }
};

void joins_emitted_once() {
  wan::KeyframeSegments k;
  k.keyframes = {image(16, 16, 0), image(16, 16, 40), image(16, 16, 80), image(16, 16, 120)};
  wan::Request base;
  base.num_frames = 5;
  base.seed = 7;
  for (int workers : {1, 2}) {
    std::vector<std::shared_ptr<wan::Pipeline>> pipelines;
    for (int w = 0; w < workers; ++w) pipelines.push_back(std::make_shared<FakePipeline>());
    OrderedSegments ordered(workers, k.segments());
    std::vector<int> values;
    std::mutex seeds_mutex;
    std::vector<int64_t> seeds(3, -1);
    wan::KeyframeVideoCallbacks cb;
    cb.request = [&](int s) {
      wan::Request r = k.request(base, s);
      r.seed = base.seed + s;
      return r;
    };
    cb.on_segment_start = [&](int s, const wan::Request& r) {
      std::lock_guard<std::mutex> lock(seeds_mutex);
      seeds[size_t(s)] = r.seed;
    };
    cb.on_frames = [&](int, const at::Tensor& f) {
      for (int v : values_of(f)) values.push_back(v);
    };
    wan::generate_keyframe_video(pipelines, ordered, cb);
    const std::vector<int> expected = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};
    EXPECT_MSG(values == expected, "each keyframe once, segments in order (" + std::to_string(workers) + " worker(s))");
    EXPECT(int64_t(values.size()) == wan::keyframe_video_frames(5, 3));
    EXPECT(seeds == std::vector<int64_t>({7, 8, 9}));
  }
  OrderedSegments mismatched(2, 3);
  EXPECT_ERROR(wan::generate_keyframe_video({std::make_shared<FakePipeline>()}, mismatched, {}),
               "1 pipeline(s) for 2 worker(s)");
}

void device_lists() {
  EXPECT(wan::parse_device_list("cpu") == std::vector<std::string>({"cpu"}));
  EXPECT_MSG(wan::parse_device_list("cpu,cpu") == std::vector<std::string>({"cpu", "cpu"}), "a device may repeat");
  EXPECT_ERROR(wan::parse_device_list("cpu,,cpu"), "empty entry");
  EXPECT_ERROR(wan::parse_device_list("cpu,gpu"), "'gpu' is not a device");
}

}  // namespace

int main() {
  later_segment_finishing_first_waits();
  bound_holds_with_many_workers();
  one_worker_runs_one_after_another();
  failure_cancels_the_others();
  cancel_ends_run();
  segment_requests();
  joins_emitted_once();
  device_lists();
  return wan::test::check_exit("test-keyframe-segments");
}
