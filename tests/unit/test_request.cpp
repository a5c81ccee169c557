// Requests: every invalid field is refused with its name in the message, and
// the output size follows the reference's rounding from max_area and aspect; unset
// sampling settings take generate.py's defaults per task and size; clips continue.
#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>

#include "models/common/error.h"
#include "pipeline/clip_continuation.h"
#include "pipeline/default_prompts.h"
#include "pipeline/model_family.h"
#include "pipeline/request.h"
#include "pipeline/video_geometry.h"
#include "tests/unit/check.h"

namespace {

wan::RgbImage image(int width, int height) {
  wan::RgbImage im;
  im.width = width;
  im.height = height;
  im.pixels.assign(static_cast<size_t>(width) * height * 3, 128);
  return im;
}

wan::Request i2v_request() {
  wan::Request r;
  r.image = image(118, 75);
  r.prompt = "a cat";
  return r;
}

void test_valid_requests_pass() {
  wan::Request t2v;
  t2v.validate();
  EXPECT(t2v.task() == wan::Task::TextToVideo);
  wan::Request i2v = i2v_request();
  i2v.validate();
  EXPECT(i2v.task() == wan::Task::ImageToVideo);
  i2v.last_image = image(50, 50);
  i2v.validate();
  EXPECT(i2v.task() == wan::Task::FirstLastFrameToVideo);
}

void test_bad_fields_are_named() {
  wan::Request r = i2v_request();
  r.num_frames = 8;
  EXPECT_ERROR(r.validate(), "num_frames");
  r = i2v_request();
  r.num_frames = 0;
  EXPECT_ERROR(r.validate(), "num_frames");
  r = i2v_request();
  r.width = 100, r.height = 96;
  EXPECT_ERROR(r.validate(), "width");
  r = i2v_request();
  r.width = 96, r.height = 100;
  EXPECT_ERROR(r.validate(), "height");
  r = i2v_request();
  r.width = 96;
  EXPECT_ERROR(r.validate(), "height");
  r = i2v_request();
  r.max_area = 10;
  EXPECT_ERROR(r.validate(), "max_area");
  // Sizes so large that the size arithmetic overflowed (a 16x16 video came out) are refused.
  r = i2v_request();
  r.max_area = INT64_MAX;
  EXPECT_ERROR(r.validate(), "max_area: must be 256 (16x16) to 268435456 pixels");
  r = i2v_request();
  r.width = 1 << 20, r.height = 64;
  EXPECT_ERROR(r.validate(), "width: must be a positive multiple of 16 up to 16384");
  r = i2v_request();
  r.num_frames = 4 * 1000000 + 1;
  EXPECT_ERROR(r.validate(), "num_frames");
  r = i2v_request();
  r.steps = -1;
  EXPECT_ERROR(r.validate(), "steps");
  r = i2v_request();
  r.shift = 0;
  EXPECT_ERROR(r.validate(), "shift");
  r = i2v_request();
  r.guidance_scale = -1;
  EXPECT_ERROR(r.validate(), "guidance_scale");
  r = i2v_request();
  r.image->pixels.pop_back();
  EXPECT_ERROR(r.validate(), "image");
  r = i2v_request();
  r.image = std::nullopt;
  r.last_image = image(8, 8);
  EXPECT_ERROR(r.validate(), "image");
  r = i2v_request();
  r.last_image = image(0, 8);
  EXPECT_ERROR(r.validate(), "last_image");
  // Step cache settings: out-of-range window parameters are named, whichever method uses
  // them; without a cache nothing is checked.
  for (auto method : {wan::CacheMethod::TeaCache, wan::CacheMethod::MagCache, wan::CacheMethod::EasyCache}) {
    r = i2v_request();
    r.cache.method = method;
    r.cache.warmup_steps = 0, r.cache.max_skips = 1, r.cache.retention_ratio = 1.0;
    r.validate();
    r.cache.threshold = -0.1;
    EXPECT_ERROR(r.validate(), "cache_threshold: must be a number > 0");
    r.cache.threshold = 0;
    EXPECT_ERROR(r.validate(), "cache_threshold: must be a number > 0");
    r.cache.threshold.reset();
    r.cache.max_skips = 0;
    EXPECT_ERROR(r.validate(), "cache_max_skips: must be at least 1, got 0");
    r.cache.max_skips.reset();
    r.cache.retention_ratio = 1.5;
    EXPECT_ERROR(r.validate(), "cache_retention_ratio: must be within 0..1");
    r.cache.retention_ratio = NAN;
    EXPECT_ERROR(r.validate(), "cache_retention_ratio");
    r.cache.retention_ratio.reset();
    r.cache.warmup_steps = -2;
    EXPECT_ERROR(r.validate(), "cache_warmup_steps: must be between 0 and 1000, got -2");
    r.cache.warmup_steps = 1001;
    EXPECT_ERROR(r.validate(), "cache_warmup_steps");
  }
  // An explicit list of denoising steps decides the step count: a steps field that
  // disagrees is named with both counts; 0 is no denoising step.
  for (auto solver : {wan::Solver::Distill, wan::Solver::Renoise}) {
    r = i2v_request();
    r.solver = solver;
    r.timesteps = {1000, 750, 500, 250};
    r.validate();
    r.steps = 4;
    r.validate();
    r.steps = 3;
    EXPECT_ERROR(r.validate(),
                 "invalid request: steps: 3 steps disagree with the 4 denoising steps of the timestep list");
    r.steps.reset();
    r.timesteps = {1000, 500, 0};
    EXPECT_ERROR(r.validate(), "invalid request: timesteps: 0 is outside 1..1000");
  }
  r = i2v_request();
  r.cache.warmup_steps = -2;  // no cache: nothing to check
  r.validate();
  // wan::Error, so callers can show the message as is
  r = i2v_request();
  r.num_frames = 2;
  bool is_wan_error = false;
  try {
    r.validate();
  } catch (const wan::Error&) {
    is_wan_error = true;
  }
  EXPECT(is_wan_error);
}

void test_geometry() {
  // The reference cases: 60x80 at 5120 px and 75x118 at 5000 px both give 48x80.
  wan::VideoGeometry g = wan::geometry_from_area(5120, 60.0 / 80.0, 9);
  EXPECT(g.width == 80 && g.height == 48 && g.latent_frames == 3 && g.seq_len == 45);
  g = wan::geometry_from_area(5000, 75.0 / 118.0, 9);
  EXPECT(g.width == 80 && g.height == 48);
  // The reference's float64 rounding: an 832x480 image at the 480p budget
  // gives sqrt(832 * 480 * 480 / 832) = 479.99999999999994, hence 464 rows.
  g = wan::geometry_from_area(832 * 480, 480.0 / 832.0, 81);
  EXPECT_MSG(g.width == 832 && g.height == 464, std::to_string(g.width) + "x" + std::to_string(g.height));
  EXPECT(g.latent_frames == 21 && g.seq_len == 21 * 58 * 104 / 4);
  // 720p keeps its shape.
  g = wan::geometry_from_area(1280 * 720, 720.0 / 1280.0, 81);
  EXPECT_MSG(g.width == 1280 && g.height == 720, std::to_string(g.width) + "x" + std::to_string(g.height));
  // A portrait image swaps the sides.
  g = wan::geometry_from_area(1280 * 720, 1280.0 / 720.0, 81);
  EXPECT(g.width == 720 && g.height == 1280);
  // An explicit size wins over max_area.
  wan::Request r = i2v_request();
  r.width = 320, r.height = 192;
  g = wan::request_geometry(r);
  EXPECT(g.width == 320 && g.height == 192 && g.lat_w == 40 && g.lat_h == 24);
  EXPECT_ERROR(wan::geometry_from_area(300, 1.0 / 100.0, 5), "max_area");
  // t2v without a size: the official landscape shape.
  wan::Request t2v;
  g = wan::request_geometry(t2v);
  EXPECT_MSG(g.width == 832 && g.height == 480, std::to_string(g.width) + "x" + std::to_string(g.height));
}

void test_default_negative_prompts() {
  const std::string t2v = wan::default_negative_prompt(wan::Task::TextToVideo);
  const std::string i2v = wan::default_negative_prompt(wan::Task::ImageToVideo);
  const std::string flf2v = wan::default_negative_prompt(wan::Task::FirstLastFrameToVideo);
  EXPECT(!t2v.empty());
  EXPECT(i2v.size() > t2v.size() && i2v.compare(i2v.size() - t2v.size(), t2v.size(), t2v) == 0);
  EXPECT(flf2v.size() > t2v.size() && flf2v.compare(flf2v.size() - t2v.size(), t2v.size(), t2v) == 0);
  EXPECT(i2v != flf2v);
}

}  // namespace

// generate.py's _validate_args: steps 40 for i2v, else 50; shift 3 for i2v at 832*480 or
// 480*832, 16 for flf2v, else 5; guidance 5; 81 frames at 16 fps.
void test_task_defaults() {
  using wan::Task;
  EXPECT(wan::sampling_defaults(Task::ImageToVideo, 832, 480).shift == 3.0);
  EXPECT(wan::sampling_defaults(Task::ImageToVideo, 480, 832).shift == 3.0);
  EXPECT(wan::sampling_defaults(Task::ImageToVideo, 1280, 720).shift == 5.0);
  EXPECT(wan::sampling_defaults(Task::ImageToVideo, 1280, 720).steps == 40);
  EXPECT(wan::sampling_defaults(Task::FirstLastFrameToVideo, 1280, 720).shift == 16.0);
  EXPECT(wan::sampling_defaults(Task::FirstLastFrameToVideo, 832, 480).shift == 16.0);
  EXPECT(wan::sampling_defaults(Task::FirstLastFrameToVideo, 1280, 720).steps == 50);
  EXPECT(wan::sampling_defaults(Task::TextToVideo, 832, 480).shift == 5.0);
  EXPECT(wan::sampling_defaults(Task::TextToVideo, 832, 480).steps == 50);
  const wan::SamplingDefaults d = wan::sampling_defaults(Task::TextToVideo, 1280, 720);
  EXPECT(d.guidance_scale == 5.0 && d.num_frames == 81 && d.fps == 16);
  EXPECT(wan::task_of(wan::DiTModelType::FLF2V) == Task::FirstLastFrameToVideo);

  // Only unset settings take the default; what the user set stays, 0 guidance included.
  wan::Request r = i2v_request();
  r.guidance_scale = 0.0;
  const wan::Request filled = wan::with_sampling_defaults(r, Task::ImageToVideo, 832, 480);
  EXPECT(*filled.steps == 40 && *filled.shift == 3.0 && *filled.guidance_scale == 0.0);
  r.steps = 7, r.shift = 1.5;
  const wan::Request kept = wan::with_sampling_defaults(r, Task::ImageToVideo, 832, 480);
  EXPECT(*kept.steps == 7 && *kept.shift == 1.5);
}

// Frames [n, H, W, 3] whose every byte is `value`.
at::Tensor frames_of(int64_t n, int64_t height, int64_t width, uint8_t value) {
  return at::full({n, height, width, 3}, value, at::kByte);
}

void test_clip_continuation() {
  wan::ClipContinuation c;
  wan::Request first = c.next(i2v_request());
  EXPECT(!c.continued() && first.image->width == 118 && first.width == 0);
  // The first clip keeps all its frames, in pieces; the last frame is remembered.
  EXPECT(c.frames_to_emit(frames_of(1, 48, 80, 1), 0).size(0) == 1);
  EXPECT(c.frames_to_emit(frames_of(4, 48, 80, 2), 1).size(0) == 4);
  EXPECT(c.frames_to_emit(frames_of(4, 48, 80, 9), 5).size(0) == 4);
  // The second starts from that frame, at its size, and leaves out its own first frame.
  const wan::Request second = c.next(i2v_request());
  EXPECT(c.continued() && second.width == 80 && second.height == 48);
  EXPECT(second.image->width == 80 && second.image->pixels.size() == 80 * 48 * 3 && second.image->pixels[0] == 9);
  const at::Tensor emitted = c.frames_to_emit(frames_of(1, 48, 80, 9), 0);
  EXPECT(emitted.size(0) == 0);
  EXPECT(c.frames_to_emit(frames_of(4, 48, 80, 3), 1).size(0) == 4);
  // Text-to-video clips are independent.
  wan::ClipContinuation t;
  t.frames_to_emit(frames_of(1, 48, 80, 1), 0);
  EXPECT(!t.next(wan::Request{}).image && !t.continued());

  EXPECT(wan::frames_in_clips(81, 3, true) == 241);
  EXPECT(wan::frames_in_clips(81, 3, false) == 243);
  EXPECT(wan::frames_in_clips(81, 0, true) == -1);
  EXPECT(wan::frames_in_clips(81, 3000000000LL, true) > 0);
}

int main() {
  test_valid_requests_pass();
  test_task_defaults();
  test_clip_continuation();
  test_bad_fields_are_named();
  test_geometry();
  test_default_negative_prompts();
  return wan::test::check_exit("test-request");
}
