// Requests: every invalid field is refused with its name in the message, and
// the output size follows the reference's rounding from max_area and aspect.
#include "models/error.h"
#include "pipeline/default_prompts.h"
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

int main() {
  test_valid_requests_pass();
  test_bad_fields_are_named();
  test_geometry();
  test_default_negative_prompts();
  return wan::test::check_exit("test-request");
}
