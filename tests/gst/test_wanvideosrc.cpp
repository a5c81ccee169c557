// wanvideosrc as an application sees it: frames, caps, timestamps, messages,
// tags, state changes and errors. The element is configured from the
// end-to-end fixture's case.json (its `args` are property names), so these
// tests follow that case instead of hard-coding it.
// The C++ headers come first: check.h defines a `fail` macro that breaks
// std::basic_ios::fail() in headers included after it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "models/weights/checkpoint_file.h"
#include "models/weights/pth_writer.h"
#include "models/weights/safetensors.h"
#include "tests/common/random_lora.h"
#include "tests/common/random_taehv.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

namespace {

using Overrides = std::vector<std::pair<std::string, std::string>>;

// Few frames and steps where the pixels do not matter.
const Overrides kQuick = {{"num-frames", "5"}, {"steps", "2"}};

std::string case_dir() {
  const gchar* dir = g_getenv("WAN_E2E_CASE");
  fail_unless(dir != nullptr, "WAN_E2E_CASE must name the e2e-i2v fixture folder");
  return dir;
}

const nlohmann::json& case_json() {
  static const nlohmann::json json = [] {
    std::ifstream in(case_dir() + "/case.json");
    fail_unless(in.good(), "cannot read %s/case.json", case_dir().c_str());
    return nlohmann::json::parse(in);
  }();
  return json;
}

std::string model_path() { return case_dir() + "/" + case_json()["files"]["ckpt"].get<std::string>(); }

// Every case argument that is a property of the element, then `overrides`.
void configure(GstElement* element, const Overrides& overrides = {}) {
  g_object_set(element, "model-path", model_path().c_str(), "device", "cpu", nullptr);
  for (const auto& [key, value] : case_json()["args"].items()) {
    if (!g_object_class_find_property(G_OBJECT_GET_CLASS(element), key.c_str())) continue;  // width, height: results
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    const bool location = g_str_has_suffix(key.c_str(), "-location");
    if (location && !text.empty() && !g_path_is_absolute(text.c_str())) text = case_dir() + "/" + text;
    gst_util_set_object_arg(G_OBJECT(element), key.c_str(), text.c_str());
  }
  for (const auto& [key, value] : overrides) gst_util_set_object_arg(G_OBJECT(element), key.c_str(), value.c_str());
}

// The harness has no bus; each test gets one to read the element's messages.
struct Harnessed {
  GstHarness* h;
  GstBus* bus;
  explicit Harnessed(const Overrides& overrides = {}) {
    h = gst_harness_new_with_padnames("wanvideosrc", nullptr, "src");
    bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    configure(h->element, overrides);
  }
  ~Harnessed() {
    gst_harness_teardown(h);
    gst_object_unref(bus);
  }
};

int caps_int(GstCaps* caps, const char* field) {
  int value = 0;
  fail_unless(gst_structure_get_int(gst_caps_get_structure(caps, 0), field, &value), "caps lack %s", field);
  return value;
}

GstVideoInfo negotiated(GstHarness* h) {
  GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
  fail_unless(caps != nullptr, "no caps were negotiated");
  GstVideoInfo info;
  fail_unless(gst_video_info_from_caps(&info, caps));
  gst_caps_unref(caps);
  return info;
}

// Pulls buffers until EOS.
std::vector<GstBuffer*> pull_all(GstHarness* h) {
  std::vector<GstBuffer*> buffers;
  GstBuffer* buffer = nullptr;
  while (gst_harness_pull_until_eos(h, &buffer) && buffer) {
    buffers.push_back(buffer);
    buffer = nullptr;
  }
  fail_unless(buffer == nullptr, "gave up waiting for EOS");
  return buffers;
}

void unref_all(std::vector<GstBuffer*>& buffers) {
  for (GstBuffer* b : buffers) gst_buffer_unref(b);
  buffers.clear();
}

// The string `tag` of each tag event queued downstream (one per clip), in order; the other
// events are dropped.
std::vector<std::string> tag_strings(GstHarness* h, const char* tag) {
  std::vector<std::string> values;
  while (GstEvent* event = gst_harness_try_pull_event(h)) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_TAG) {
      GstTagList* list = nullptr;
      gst_event_parse_tag(event, &list);
      gchar* value = nullptr;
      if (gst_tag_list_get_string(list, tag, &value)) values.push_back(value);
      g_free(value);
    }
    gst_event_unref(event);
  }
  return values;
}

GstClockTime frame_time(guint64 n, const GstVideoInfo& info) {
  return gst_util_uint64_scale(n, GST_VIDEO_INFO_FPS_D(&info) * GST_SECOND, GST_VIDEO_INFO_FPS_N(&info));
}

// PTS, DURATION and OFFSETs of frame n at the negotiated rate, counting on
// across clips.
void check_timestamps(const std::vector<GstBuffer*>& buffers, const GstVideoInfo& info) {
  for (size_t n = 0; n < buffers.size(); ++n) {
    GstBuffer* b = buffers[n];
    fail_unless_equals_uint64(GST_BUFFER_PTS(b), frame_time(n, info));
    fail_unless_equals_uint64(GST_BUFFER_DURATION(b), frame_time(n + 1, info) - frame_time(n, info));
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(b), n);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET_END(b), n + 1);
  }
}

// The messages of these types on the bus so far, in order.
std::vector<GstMessage*> pop_messages(GstBus* bus, GstMessageType types) {
  std::vector<GstMessage*> messages;
  while (GstMessage* m = gst_bus_pop_filtered(bus, types)) messages.push_back(m);
  return messages;
}

void unref_all(std::vector<GstMessage*>& messages) {
  for (GstMessage* m : messages) gst_message_unref(m);
  messages.clear();
}

bool is_element_message(GstMessage* m, const char* name) {
  return GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && gst_message_has_name(m, name);
}

// The first error on the bus has this domain and code and names `needle`;
// a PROGRESS ERROR follows it.
void expect_error(GstBus* bus, GQuark domain, gint code, const std::string& needle) {
  auto messages = pop_messages(bus, GstMessageType(GST_MESSAGE_ERROR | GST_MESSAGE_PROGRESS));
  size_t i = 0;
  while (i < messages.size() && GST_MESSAGE_TYPE(messages[i]) != GST_MESSAGE_ERROR) ++i;
  fail_unless(i < messages.size(), "no error message was posted");
  GError* error = nullptr;
  gst_message_parse_error(messages[i], &error, nullptr);
  fail_unless(error->domain == domain && error->code == code, "expected %s error %d, got %s error %d: %s",
              g_quark_to_string(domain), code, g_quark_to_string(error->domain), error->code, error->message);
  fail_unless(std::string(error->message).find(needle) != std::string::npos,
              "the error message \"%s\" does not mention \"%s\"", error->message, needle.c_str());
  g_clear_error(&error);
  bool progress_error = false;
  for (size_t j = i + 1; j < messages.size(); ++j) {
    if (GST_MESSAGE_TYPE(messages[j]) != GST_MESSAGE_PROGRESS) continue;
    GstProgressType type;
    gst_message_parse_progress(messages[j], &type, nullptr, nullptr);
    progress_error |= type == GST_PROGRESS_TYPE_ERROR;
  }
  fail_unless(progress_error, "no PROGRESS ERROR after the error");
  unref_all(messages);
}

// Fails to reach PLAYING, with this error.
void expect_start_failure(const Overrides& overrides, GQuark domain, gint code, const std::string& needle) {
  Harnessed t(overrides);
  fail_unless_equals_int(gst_element_set_state(t.h->element, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  expect_error(t.bus, domain, code, needle);
}

std::string temp_dir() {
  gchar* dir = g_dir_make_tmp("wanvideosrc-XXXXXX", nullptr);
  fail_unless(dir != nullptr);
  std::string path = dir;
  g_free(dir);
  return path;
}

}  // namespace

// The pushed frames are the reference's uint8 frames (within 1 for rounding).
GST_START_TEST(test_frames_match_reference) {
  Harnessed t;
  gst_harness_play(t.h);
  std::vector<GstBuffer*> buffers = pull_all(t.h);
  const GstVideoInfo info = negotiated(t.h);

  const at::Tensor expected = wan::load_safetensors(case_dir() + "/io.safetensors").at("out.frames").contiguous();
  const int64_t frames = expected.size(0), height = expected.size(1), width = expected.size(2);
  fail_unless_equals_int(GST_VIDEO_INFO_WIDTH(&info), width);
  fail_unless_equals_int(GST_VIDEO_INFO_HEIGHT(&info), height);
  fail_unless_equals_int(GST_VIDEO_INFO_WIDTH(&info), case_json()["args"]["width"].get<int>());
  fail_unless_equals_int(GST_VIDEO_INFO_HEIGHT(&info), case_json()["args"]["height"].get<int>());
  fail_unless_equals_int(buffers.size(), frames);

  const uint8_t* reference = expected.data_ptr<uint8_t>();
  for (int64_t f = 0; f < frames; ++f) {
    GstVideoFrame frame;
    fail_unless(gst_video_frame_map(&frame, &info, buffers[f], GST_MAP_READ));
    const auto* data = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
    const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    int worst = 0;
    int64_t worst_at = 0;
    for (int64_t y = 0; y < height; ++y)
      for (int64_t x = 0; x < width * 3; ++x) {
        const int diff = std::abs(int(data[y * stride + x]) - int(reference[((f * height + y) * width) * 3 + x]));
        if (diff > worst) worst = diff, worst_at = y * width * 3 + x;
      }
    gst_video_frame_unmap(&frame);
    fail_unless(worst <= 1, "frame %d differs from out.frames by %d at byte %d", int(f), worst, int(worst_at));
  }
  unref_all(buffers);
}
GST_END_TEST;

// RGB at the size the model derives from the image and max-area, 16 fps,
// square pixels.
GST_START_TEST(test_default_caps) {
  Harnessed t(kQuick);
  gst_harness_play(t.h);
  GstBuffer* first = gst_harness_pull(t.h);
  fail_unless(first != nullptr);
  gst_buffer_unref(first);
  GstCaps* caps = gst_pad_get_current_caps(t.h->sinkpad);
  GstStructure* s = gst_caps_get_structure(caps, 0);
  fail_unless_equals_string(gst_structure_get_string(s, "format"), "RGB");
  fail_unless_equals_int(caps_int(caps, "width"), case_json()["args"]["width"].get<int>());
  fail_unless_equals_int(caps_int(caps, "height"), case_json()["args"]["height"].get<int>());
  int n = 0, d = 0;
  fail_unless(gst_structure_get_fraction(s, "framerate", &n, &d));
  fail_unless(n == 16 && d == 1, "framerate %d/%d", n, d);
  fail_unless(gst_structure_get_fraction(s, "pixel-aspect-ratio", &n, &d));
  fail_unless(n == 1 && d == 1, "pixel-aspect-ratio %d/%d", n, d);
  gst_caps_unref(caps);
}
GST_END_TEST;

// One buffer per frame, timestamps at 16 fps from 0, then EOS.
GST_START_TEST(test_frame_count_timestamps_eos) {
  Harnessed t(kQuick);
  gst_harness_play(t.h);
  std::vector<GstBuffer*> buffers = pull_all(t.h);
  fail_unless_equals_int(buffers.size(), 5);
  check_timestamps(buffers, negotiated(t.h));
  unref_all(buffers);
}
GST_END_TEST;

// Downstream picks the format, size and rate: frames follow, timestamps too.
GST_START_TEST(test_downstream_caps) {
  Harnessed t(kQuick);
  gst_harness_set_sink_caps_str(t.h, "video/x-raw,format=BGRx,width=96,height=64,framerate=25/1");
  gst_harness_play(t.h);
  std::vector<GstBuffer*> buffers = pull_all(t.h);
  const GstVideoInfo info = negotiated(t.h);
  fail_unless_equals_int(GST_VIDEO_INFO_FORMAT(&info), GST_VIDEO_FORMAT_BGRx);
  fail_unless_equals_int(GST_VIDEO_INFO_WIDTH(&info), 96);
  fail_unless_equals_int(GST_VIDEO_INFO_HEIGHT(&info), 64);
  fail_unless_equals_int(buffers.size(), 5);
  check_timestamps(buffers, info);
  fail_unless_equals_uint64(GST_BUFFER_PTS(buffers[1]), GST_SECOND / 25);
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &info, buffers[0], GST_MAP_READ));
  const auto* pixel = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  fail_unless_equals_int(pixel[3], 255);
  gst_video_frame_unmap(&frame);
  unref_all(buffers);
}
GST_END_TEST;

// DURATION in time and frames; not live.
GST_START_TEST(test_queries) {
  Harnessed t(kQuick);
  gst_harness_play(t.h);
  GstBuffer* first = gst_harness_pull(t.h);
  fail_unless(first != nullptr, "no frame");
  gst_buffer_unref(first);
  gint64 duration = 0;
  fail_unless(gst_element_query_duration(t.h->element, GST_FORMAT_TIME, &duration));
  fail_unless_equals_uint64(duration, frame_time(5, negotiated(t.h)));
  fail_unless(gst_element_query_duration(t.h->element, GST_FORMAT_DEFAULT, &duration));
  fail_unless_equals_int64(duration, 5);
  GstQuery* latency = gst_query_new_latency();
  fail_unless(gst_element_query(t.h->element, latency));
  gboolean live = TRUE;
  gst_query_parse_latency(latency, &live, nullptr, nullptr);
  fail_if(live);
  gst_query_unref(latency);
}
GST_END_TEST;

// Continued clips: the repeated first frame is left out, timestamps run on,
// each clip gets its tags, seeds count up from the seed property.
GST_START_TEST(test_continuous_clips) {
  Harnessed t({{"num-frames", "5"}, {"steps", "2"}, {"clips", "3"}, {"seed", "100"}});
  gst_harness_play(t.h);
  std::vector<GstBuffer*> buffers = pull_all(t.h);
  fail_unless_equals_int(buffers.size(), 5 + 4 + 4);
  check_timestamps(buffers, negotiated(t.h));
  gint64 duration = 0;
  fail_unless(gst_element_query_duration(t.h->element, GST_FORMAT_DEFAULT, &duration));
  fail_unless_equals_int64(duration, 13);
  unref_all(buffers);

  int tags = 0;
  while (GstEvent* event = gst_harness_try_pull_event(t.h)) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_TAG) {
      GstTagList* list = nullptr;
      gst_event_parse_tag(event, &list);
      gchar* comment = nullptr;
      fail_unless(gst_tag_list_get_string(list, GST_TAG_COMMENT, &comment));
      const std::string seed = "seed=" + std::to_string(100 + tags);
      fail_unless(std::string(comment).find(seed) != std::string::npos, "tag comment \"%s\" lacks %s", comment,
                  seed.c_str());
      g_free(comment);
      ++tags;
    }
    gst_event_unref(event);
  }
  fail_unless_equals_int(tags, 3);
  gint64 last_seed = 0;
  g_object_get(t.h->element, "last-seed", &last_seed, nullptr);
  fail_unless_equals_int64(last_seed, 102);
}
GST_END_TEST;

// A prompt set while playing applies from the next clip; a model setting
// set while playing is ignored.
static GstBusSyncReply change_prompt_at_first_clip(GstBus*, GstMessage* message, gpointer element) {
  guint clip = 0;
  if (is_element_message(message, "wan-clip") &&
      gst_structure_get_uint(gst_message_get_structure(message), "clip", &clip) && clip == 0) {
    g_object_set(element, "prompt", "a second prompt", "num-frames", 9, nullptr);
  }
  return GST_BUS_PASS;
}

GST_START_TEST(test_prompt_change_applies_next_clip) {
  Harnessed t({{"num-frames", "5"}, {"steps", "2"}, {"clips", "2"}});
  gst_bus_set_sync_handler(t.bus, change_prompt_at_first_clip, t.h->element, nullptr);
  gchar* first_prompt = nullptr;
  g_object_get(t.h->element, "prompt", &first_prompt, nullptr);
  gst_harness_play(t.h);
  std::vector<GstBuffer*> buffers = pull_all(t.h);
  fail_unless_equals_int(buffers.size(), 5 + 4);  // num-frames did not change
  unref_all(buffers);

  const std::vector<std::string> titles = tag_strings(t.h, GST_TAG_TITLE);
  fail_unless_equals_int(titles.size(), 2);
  fail_unless_equals_string(titles[0].c_str(), first_prompt);
  fail_unless_equals_string(titles[1].c_str(), "a second prompt");
  g_free(first_prompt);
  gst_bus_set_sync_handler(t.bus, nullptr, nullptr, nullptr);
}
GST_END_TEST;

// A random seed is drawn, reported by last-seed and posted with the clip.
GST_START_TEST(test_random_seed_reported) {
  Harnessed t({{"num-frames", "5"}, {"steps", "2"}, {"seed", "-1"}});
  gst_harness_play(t.h);
  std::vector<GstBuffer*> buffers = pull_all(t.h);
  unref_all(buffers);
  gint64 last_seed = -1;
  g_object_get(t.h->element, "last-seed", &last_seed, nullptr);
  fail_unless(last_seed >= 0, "last-seed %" G_GINT64_FORMAT, last_seed);
  auto messages = pop_messages(t.bus, GST_MESSAGE_ELEMENT);
  bool posted = false;
  for (GstMessage* m : messages) {
    gint64 seed = -1;
    if (is_element_message(m, "wan-clip") && gst_structure_get_int64(gst_message_get_structure(m), "seed", &seed))
      posted |= seed == last_seed;
  }
  fail_unless(posted, "no wan-clip message carries the seed used");
  unref_all(messages);
}
GST_END_TEST;

// Load progress START, CONTINUE..., COMPLETE during the state change; then
// per clip a wan-clip message and wan-progress messages in phase order, the
// denoising steps 1..steps.
GST_START_TEST(test_progress_messages) {
  Harnessed t({{"num-frames", "5"}, {"steps", "3"}});
  gst_harness_play(t.h);
  std::vector<GstBuffer*> buffers = pull_all(t.h);
  unref_all(buffers);

  auto messages = pop_messages(t.bus, GstMessageType(GST_MESSAGE_PROGRESS | GST_MESSAGE_ELEMENT));
  std::vector<GstProgressType> load;
  std::vector<std::string> phases;
  std::vector<int> denoise_steps;
  bool clip_first = false;
  for (GstMessage* m : messages) {
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_PROGRESS) {
      GstProgressType type;
      gst_message_parse_progress(m, &type, nullptr, nullptr);
      load.push_back(type);
      continue;
    }
    if (is_element_message(m, "wan-clip")) clip_first = phases.empty();
    if (!is_element_message(m, "wan-progress")) continue;
    const GstStructure* s = gst_message_get_structure(m);
    const std::string phase = gst_structure_get_string(s, "phase");
    int step = 0, total = 0;
    double percent = -1;
    guint64 elapsed = 0;
    fail_unless(gst_structure_get_int(s, "step", &step) && gst_structure_get_int(s, "total-steps", &total));
    fail_unless(gst_structure_get_double(s, "percent", &percent) && gst_structure_get_uint64(s, "elapsed", &elapsed));
    fail_unless(percent >= 0 && percent <= 100, "percent %f", percent);
    if (phases.empty() || phases.back() != phase) phases.push_back(phase);
    if (phase == "denoise") {
      fail_unless_equals_int(total, 3);
      denoise_steps.push_back(step);
    }
  }
  unref_all(messages);

  fail_unless(load.size() >= 2, "too few load progress messages");
  fail_unless_equals_int(load.front(), GST_PROGRESS_TYPE_START);
  fail_unless_equals_int(load.back(), GST_PROGRESS_TYPE_COMPLETE);
  for (size_t i = 1; i + 1 < load.size(); ++i) fail_unless_equals_int(load[i], GST_PROGRESS_TYPE_CONTINUE);
  fail_unless(clip_first, "wan-clip is not posted before the clip's progress");

  const std::vector<std::string> order = {"encode", "denoise", "decode"};
  size_t at = 0;
  for (const std::string& phase : phases) {
    while (at < order.size() && order[at] != phase) ++at;
    fail_unless(at < order.size(), "phase \"%s\" out of order or unknown", phase.c_str());
  }
  fail_unless(std::find(phases.begin(), phases.end(), "decode") != phases.end(), "no decode progress");
  fail_unless_equals_int(denoise_steps.size(), 3);
  for (int i = 0; i < 3; ++i) fail_unless_equals_int(denoise_steps[i], i + 1);
}
GST_END_TEST;

// Resident set size of this process in MiB (Linux).
static double resident_mib() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1048576.0);
}

// Going to NULL while a clip is being generated returns at once, every time,
// and the rounds leave no memory behind (after the first rounds warm the
// allocators and the shared model up).
GST_START_TEST(test_stop_mid_generation) {
  double warm_mib = 0;
  for (int round = 0; round < 20; ++round) {
    if (round == 3) warm_mib = resident_mib();
    Harnessed t({{"num-frames", "9"}, {"steps", "20"}, {"clips", "0"}});
    gst_harness_play(t.h);
    // Wait until the denoising loop runs.
    bool denoising = false;
    while (!denoising) {
      GstMessage* m = gst_bus_timed_pop_filtered(t.bus, 60 * GST_SECOND, GST_MESSAGE_ELEMENT);
      fail_unless(m != nullptr, "no denoising progress within 60 s");
      const gchar* phase = is_element_message(m, "wan-progress")
                               ? gst_structure_get_string(gst_message_get_structure(m), "phase")
                               : nullptr;
      denoising = phase && std::string(phase) == "denoise";
      gst_message_unref(m);
    }
    const auto begin = std::chrono::steady_clock::now();
    fail_unless_equals_int(gst_element_set_state(t.h->element, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    fail_unless(seconds < 5.0, "round %d: PLAYING -> NULL took %.2f s", round, seconds);
  }
  const double growth = resident_mib() - warm_mib;
  fail_unless(growth < 64.0, "17 stop rounds grew the resident set by %.1f MiB", growth);
}
GST_END_TEST;

// Soak: NULL <-> PLAYING cycles with the stop landing in each phase in turn (the model
// loading, the encoders, the denoise loop, the decode), WAN_SOAK_ROUNDS of them (100 unless
// set; tools/soak.sh runs 1000): every stop within a second, memory flat after warm-up.
GST_START_TEST(test_soak_stop_in_every_phase) {
  const char* rounds_env = g_getenv("WAN_SOAK_ROUNDS");
  const int rounds = rounds_env ? std::atoi(rounds_env) : 100;
  const char* phases[] = {"load", "encode", "denoise", "decode"};
  const int warm_up = 8;
  double warm_mib = 0, slowest = 0;
  for (int round = 0; round < rounds; ++round) {
    if (round == warm_up) warm_mib = resident_mib();
    const std::string phase = phases[round % 4];
    Harnessed t({{"num-frames", "9"}, {"steps", "6"}, {"clips", "0"}});
    if (phase == "load") {
      // The models load in READY -> PAUSED; the stop follows it at once.
      gst_element_set_state(t.h->element, GST_STATE_PAUSED);
    } else {
      gst_harness_play(t.h);
      bool reached = false;
      while (!reached) {
        GstMessage* m = gst_bus_timed_pop_filtered(t.bus, 60 * GST_SECOND, GST_MESSAGE_ELEMENT);
        fail_unless(m != nullptr, "round %d: no %s progress within 60 s", round, phase.c_str());
        const gchar* p = is_element_message(m, "wan-progress")
                             ? gst_structure_get_string(gst_message_get_structure(m), "phase")
                             : nullptr;
        reached = p && phase == p;
        gst_message_unref(m);
      }
    }
    const auto begin = std::chrono::steady_clock::now();
    fail_unless_equals_int(gst_element_set_state(t.h->element, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    slowest = std::max(slowest, seconds);
    fail_unless(seconds < 1.0, "round %d (%s): PLAYING -> NULL took %.2f s", round, phase.c_str(), seconds);
  }
  const double growth = resident_mib() - warm_mib;
  std::printf("soak: %d rounds, slowest stop %.3f s, resident set %+.1f MiB after warm-up\n", rounds, slowest, growth);
  fail_unless(growth < 64.0, "%d soak rounds grew the resident set by %.1f MiB", rounds - warm_up, growth);
}
GST_END_TEST;

// The clip's closing message counts its DiT forwards (two per step with guidance, one at
// guidance-scale 1) and, with step caching, the reused ones.
GST_START_TEST(test_step_cache_reported) {
  struct Case {
    const char* cache;
    const char* guidance;
  };
  for (const Case c : {Case{"magcache", "5"}, Case{"none", "5"}, Case{"none", "1"}}) {
    Harnessed t({{"num-frames", "5"}, {"steps", "10"}, {"cache", c.cache}, {"guidance-scale", c.guidance}});
    gst_harness_play(t.h);
    std::vector<GstBuffer*> buffers = pull_all(t.h);
    unref_all(buffers);
    auto messages = pop_messages(t.bus, GST_MESSAGE_ELEMENT);
    int done = 0, forwards = -1, reused = -1;
    for (GstMessage* m : messages)
      if (is_element_message(m, "wan-clip-done")) {
        ++done;
        gst_structure_get_int(gst_message_get_structure(m), "forwards", &forwards);
        gst_structure_get_int(gst_message_get_structure(m), "forwards-reused", &reused);
      }
    unref_all(messages);
    fail_unless_equals_int(done, 1);
    if (std::string(c.cache) == "none") {
      const int expected = std::string(c.guidance) == "1" ? 10 : 20;
      fail_unless(forwards == expected && reused == 0, "without a cache, guidance %s: %d forwards, %d reused",
                  c.guidance, forwards, reused);
    } else {
      fail_unless(forwards == 20 && reused > 0 && reused < 20, "magcache: %d forwards, %d reused", forwards, reused);
    }
  }
}
GST_END_TEST;

// The step cache's window parameters reach the request: EasyCache with a threshold nothing
// reaches reuses steps warm-up .. 8 of 10 (step 9 always runs), both forwards of each; its
// default warm-up (10 steps) reuses none.
GST_START_TEST(test_step_cache_window) {
  for (const auto& [warmup, expected] : std::vector<std::pair<std::string, int>>{{"4", 10}, {"7", 4}, {"-1", 0}}) {
    Harnessed t({{"num-frames", "5"},
                 {"steps", "10"},
                 {"cache", "easycache"},
                 {"cache-threshold", "1e9"},
                 {"cache-warmup-steps", warmup}});
    gint value = 0;
    g_object_get(t.h->element, "cache-warmup-steps", &value, nullptr);
    fail_unless_equals_int(value, std::stoi(warmup));
    gst_harness_play(t.h);
    std::vector<GstBuffer*> buffers = pull_all(t.h);
    unref_all(buffers);
    auto messages = pop_messages(t.bus, GST_MESSAGE_ELEMENT);
    int forwards = -1, reused = -1;
    for (GstMessage* m : messages)
      if (is_element_message(m, "wan-clip-done")) {
        gst_structure_get_int(gst_message_get_structure(m), "forwards", &forwards);
        gst_structure_get_int(gst_message_get_structure(m), "forwards-reused", &reused);
      }
    unref_all(messages);
    fail_unless(forwards == 20 && reused == expected, "warm-up %s: %d forwards, %d reused (expected %d)",
                warmup.c_str(), forwards, reused, expected);
  }
}
GST_END_TEST;

// Out-of-range window parameters fail at start, naming the parameter.
GST_START_TEST(test_bad_cache_window) {
  expect_start_failure({{"cache", "magcache"}, {"cache-max-skips", "-3"}}, GST_LIBRARY_ERROR,
                       GST_LIBRARY_ERROR_SETTINGS, "cache_max_skips");
  expect_start_failure({{"cache", "magcache"}, {"cache-retention-ratio", "1.5"}}, GST_LIBRARY_ERROR,
                       GST_LIBRARY_ERROR_SETTINGS, "cache_retention_ratio");
  expect_start_failure({{"cache", "easycache"}, {"cache-warmup-steps", "-2"}}, GST_LIBRARY_ERROR,
                       GST_LIBRARY_ERROR_SETTINGS, "cache_warmup_steps");
  // Checked whatever the method, as the request does.
  expect_start_failure({{"cache", "teacache"}, {"cache-warmup-steps", "-2"}}, GST_LIBRARY_ERROR,
                       GST_LIBRARY_ERROR_SETTINGS, "cache_warmup_steps");
  Harnessed t(Overrides{{"cache-teacache-ret-steps", "false"}});
  gboolean ret_steps = TRUE;
  g_object_get(t.h->element, "cache-teacache-ret-steps", &ret_steps, nullptr);
  fail_unless(!ret_steps);
}
GST_END_TEST;

// An application may stop the element from a bus sync handler, which runs on the thread that
// posts the message: for wan-progress, the generation thread itself.
struct StopFromHandler {
  GstElement* element;
  std::atomic<int> stops{0};
  std::atomic<GstStateChangeReturn> result{GST_STATE_CHANGE_FAILURE};
};

static GstBusSyncReply stop_at_denoise(GstBus*, GstMessage* message, gpointer data) {
  auto* stop = static_cast<StopFromHandler*>(data);
  const gchar* phase = is_element_message(message, "wan-progress")
                           ? gst_structure_get_string(gst_message_get_structure(message), "phase")
                           : nullptr;
  if (phase && std::string(phase) == "denoise" && stop->stops++ == 0)
    stop->result = gst_element_set_state(stop->element, GST_STATE_NULL);
  return GST_BUS_PASS;
}

// Plays `t` until a bus sync handler stops it from the generation thread (at its first denoise
// step), checks that the stop succeeded and the element reached NULL (polled for up to a minute:
// that stop returns on the generation thread, the state settles after it), then plays it again
// and pulls a frame: a fresh queue, the let-go thread's frames never reach it. `what` names the
// case in failures.
void stop_from_generation_thread_and_play_again(Harnessed& t, const std::string& what) {
  StopFromHandler stop{t.h->element};
  gst_bus_set_sync_handler(t.bus, stop_at_denoise, &stop, nullptr);
  gst_harness_play(t.h);
  const auto begin = std::chrono::steady_clock::now();
  GstState state = GST_STATE_PLAYING;
  while (state != GST_STATE_NULL && std::chrono::steady_clock::now() - begin < std::chrono::seconds(60)) {
    g_usleep(20000);
    gst_element_get_state(t.h->element, &state, nullptr, 0);
  }
  fail_unless(stop.stops >= 1 && stop.result == GST_STATE_CHANGE_SUCCESS, "%s: the stop failed", what.c_str());
  fail_unless(state == GST_STATE_NULL, "%s: the element did not reach NULL", what.c_str());
  gst_bus_set_sync_handler(t.bus, nullptr, nullptr, nullptr);
  fail_unless(gst_element_set_state(t.h->element, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstBuffer* buffer = gst_harness_pull(t.h);
  fail_unless(buffer != nullptr, "%s: no frame after playing again", what.c_str());
  gst_buffer_unref(buffer);
}

GST_START_TEST(test_stop_from_generation_thread) {
  for (int round = 0; round < 3; ++round) {
    Harnessed t({{"num-frames", "9"}, {"steps", "20"}, {"clips", "0"}});
    stop_from_generation_thread_and_play_again(t, "round " + std::to_string(round));
  }
}
GST_END_TEST;

// A kohya-format LoRA on every matrix of the fixture checkpoint's DiT blocks, written once.
std::string tiny_lora() {
  static const std::string path = [] {
    const std::string dit = model_path() + "/diffusion_pytorch_model.safetensors";
    const std::string out = temp_dir() + "/tiny-lora.safetensors";
    wan::save_safetensors(out, wan::test::random_kohya_lora(wan::load_safetensors(dit), 4, 11));
    return out;
  }();
  return path;
}

std::vector<std::vector<uint8_t>> frames_of(std::vector<GstBuffer*>& buffers) {
  std::vector<std::vector<uint8_t>> out;
  for (GstBuffer* b : buffers) {
    GstMapInfo m;
    fail_unless(b && gst_buffer_map(b, &m, GST_MAP_READ));
    out.emplace_back(m.data, m.data + m.size);
    gst_buffer_unmap(b, &m);
  }
  unref_all(buffers);
  return out;
}

using Frames = std::vector<std::vector<uint8_t>>;

// Two elements playing at once, their first `n` frames pulled in turn.
std::pair<Frames, Frames> side_by_side(const Overrides& first, const Overrides& second, int n) {
  Harnessed a(first), b(second);
  gst_harness_play(a.h);
  gst_harness_play(b.h);
  std::vector<GstBuffer*> from_a, from_b;
  for (int i = 0; i < n; ++i) {
    from_a.push_back(gst_harness_pull(a.h));
    from_b.push_back(gst_harness_pull(b.h));
  }
  return {frames_of(from_a), frames_of(from_b)};
}

std::vector<std::vector<uint8_t>> generate_alone(const Overrides& settings) {
  Harnessed t(settings);
  gst_harness_play(t.h);
  std::vector<GstBuffer*> buffers = pull_all(t.h);
  return frames_of(buffers);
}

// Two elements on one checkpoint run at the same time and agree.
GST_START_TEST(test_two_elements_share_one_model) {
  const Overrides settings = {{"num-frames", "5"}, {"steps", "2"}, {"seed", "7"}};
  const auto [from_a, from_b] = side_by_side(settings, settings, 5);
  fail_unless(from_a.size() == 5 && from_a == from_b, "the two elements' frames differ");
}
GST_END_TEST;

// One process, one checkpoint, two elements: the one with a LoRA and the one without give
// the frames each gives alone (a merged LoRA never leaks into the shared plain model).
GST_START_TEST(test_lora_and_plain_elements_side_by_side) {
  const Overrides plain = {{"num-frames", "5"}, {"steps", "2"}, {"seed", "7"}};
  Overrides with_lora = plain;
  with_lora.emplace_back("loras", tiny_lora() + ":0.05");
  const auto alone_plain = generate_alone(plain);
  const auto alone_lora = generate_alone(with_lora);
  fail_unless(alone_plain.size() == 5 && alone_lora.size() == 5);
  fail_unless(alone_plain != alone_lora, "the LoRA changed nothing");

  const auto [from_lora, from_plain] = side_by_side(with_lora, plain, 5);
  fail_unless(from_lora == alone_lora, "the LoRA element's frames changed beside the plain one");
  fail_unless(from_plain == alone_plain, "the plain element's frames changed beside the LoRA one");
}
GST_END_TEST;

// LoRAs set while playing apply from the next clip: the second clip's tags name the file and
// its strength, the first clip's name none.
struct LorasChange {
  GstElement* element;
  std::string loras;
};

static GstBusSyncReply change_loras_at_first_clip(GstBus*, GstMessage* message, gpointer data) {
  const auto* change = static_cast<const LorasChange*>(data);
  guint clip = 0;
  if (is_element_message(message, "wan-clip") &&
      gst_structure_get_uint(gst_message_get_structure(message), "clip", &clip) && clip == 0)
    g_object_set(change->element, "loras", change->loras.c_str(), nullptr);
  return GST_BUS_PASS;
}

GST_START_TEST(test_loras_change_applies_next_clip) {
  Harnessed t({{"num-frames", "5"}, {"steps", "2"}, {"clips", "2"}});
  const LorasChange change{t.h->element, tiny_lora() + ":0.05"};
  gst_bus_set_sync_handler(t.bus, change_loras_at_first_clip, const_cast<LorasChange*>(&change), nullptr);
  gst_harness_play(t.h);
  std::vector<GstBuffer*> buffers = pull_all(t.h);
  fail_unless_equals_int(buffers.size(), 5 + 4);
  unref_all(buffers);

  const std::vector<std::string> comments = tag_strings(t.h, GST_TAG_COMMENT);
  fail_unless_equals_int(comments.size(), 2);
  fail_unless(comments[0].find("loras=") == std::string::npos, "first clip's tag comment \"%s\" names a LoRA",
              comments[0].c_str());
  const std::string named = " loras=" + tiny_lora() + ":0.05";
  fail_unless(comments[1].find(named) != std::string::npos, "second clip's tag comment \"%s\" lacks%s",
              comments[1].c_str(), named.c_str());
  gst_bus_set_sync_handler(t.bus, nullptr, nullptr, nullptr);
}
GST_END_TEST;

GST_START_TEST(test_bad_lora) {
  expect_start_failure({{"loras", tiny_lora() + ":strong"}}, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                       "the strength after ':' must be a number, got 'strong'");
  const std::string other = temp_dir() + "/other-model-lora.safetensors";
  wan::save_safetensors(other, {{"lora_unet_blocks_0_self_attn_q.lora_down.weight", at::randn({4, 4096})},
                                {"lora_unet_blocks_0_self_attn_q.lora_up.weight", at::randn({4096, 4})}});
  expect_start_failure({{"loras", other}}, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
                       "'lora_unet_blocks_0_self_attn_q.lora_up.weight' [4096, 4] x "
                       "'lora_unet_blocks_0_self_attn_q.lora_down.weight' [4, 4096] gives [4096, 4096]; the model's "
                       "blocks.0.self_attn.q.weight is [");
  expect_start_failure({{"solver", "distill"}, {"timesteps", "1000,1000"}}, GST_LIBRARY_ERROR,
                       GST_LIBRARY_ERROR_SETTINGS, "the list must decrease strictly");
}
GST_END_TEST;

GST_START_TEST(test_missing_model) {
  expect_start_failure({{"model-path", "/nonexistent/Wan2.1-I2V-14B-480P"}}, GST_RESOURCE_ERROR,
                       GST_RESOURCE_ERROR_NOT_FOUND, "/nonexistent/Wan2.1-I2V-14B-480P");
  expect_start_failure({{"model-path", ""}}, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "model-path");
}
GST_END_TEST;

// A checkpoint folder whose DiT file is cut short.
GST_START_TEST(test_corrupt_model) {
  namespace fs = std::filesystem;
  const std::string dir = temp_dir();
  fs::copy(model_path(), dir, fs::copy_options::recursive);
  std::string cut;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".safetensors") cut = entry.path().string();
  fail_if(cut.empty(), "the fixture checkpoint has no .safetensors file");
  fs::resize_file(cut, fs::file_size(cut) / 2);
  expect_start_failure({{"model-path", dir}}, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ, dir);
  fs::remove_all(dir);
}
GST_END_TEST;

GST_START_TEST(test_missing_image) {
  expect_start_failure({{"image-location", "/nonexistent/cat.png"}}, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
                       "/nonexistent/cat.png");
}
GST_END_TEST;

GST_START_TEST(test_undecodable_image) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/not-an-image.png";
  std::ofstream(path) << "this is text, not a picture\n";
  expect_start_failure({{"image-location", path}}, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE, path);
  std::filesystem::remove_all(dir);
}
GST_END_TEST;

// A FIFO as the image would block the start in filesrc's open; it is refused at once.
GST_START_TEST(test_image_not_a_file) {
  const std::string dir = temp_dir();
  const std::string fifo = dir + "/image.png";
  fail_unless(mkfifo(fifo.c_str(), 0600) == 0);
  const auto start = std::chrono::steady_clock::now();
  expect_start_failure({{"image-location", fifo}}, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
                       "is not a regular file");
  fail_unless(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
  std::filesystem::remove_all(dir);
}
GST_END_TEST;

// An image wider than 16384 pixels is refused when the decoder announces its size.
GST_START_TEST(test_image_too_large) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/wide.png";
  GError* error = nullptr;
  GstElement* writer = gst_parse_launch(
      ("videotestsrc num-buffers=1 ! video/x-raw,width=16400,height=8 ! pngenc ! filesink location=" + path).c_str(),
      &error);
  if (!writer || error) {  // no pngenc (gst-plugins-good): nothing to check with
    g_clear_error(&error);
    if (writer) gst_object_unref(writer);
    std::filesystem::remove_all(dir);
    return;
  }
  gst_element_set_state(writer, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(writer);
  GstMessage* done =
      gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(done && GST_MESSAGE_TYPE(done) == GST_MESSAGE_EOS, "could not write the test image");
  gst_message_unref(done);
  gst_object_unref(bus);
  gst_element_set_state(writer, GST_STATE_NULL);
  gst_object_unref(writer);
  expect_start_failure({{"image-location", path}}, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
                       "larger than 16384x16384 pixels");
  std::filesystem::remove_all(dir);
}
GST_END_TEST;

// The checkpoint is image-to-video: without an image it cannot run.
GST_START_TEST(test_task_needs_image) {
  expect_start_failure({{"image-location", ""}}, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "image-location");
}
GST_END_TEST;

GST_START_TEST(test_bad_frame_count) {
  expect_start_failure({{"num-frames", "10"}}, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "10");
}
GST_END_TEST;

GST_START_TEST(test_bad_device) {
  expect_start_failure({{"device", "gpu7"}}, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "gpu7");
}
GST_END_TEST;

// Downstream insists on a size the model cannot make.
GST_START_TEST(test_unsupported_size) {
  Harnessed t(kQuick);
  gst_harness_set_sink_caps_str(t.h, "video/x-raw,format=RGB,width=90,height=64,framerate=16/1");
  gst_harness_play(t.h);
  GstMessage* m = gst_bus_timed_pop_filtered(t.bus, 60 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless(m != nullptr, "no error for a width of 90");
  GError* error = nullptr;
  gst_message_parse_error(m, &error, nullptr);
  fail_unless(error->domain == GST_STREAM_ERROR && error->code == GST_STREAM_ERROR_FORMAT, "%s", error->message);
  fail_unless(std::string(error->message).find("90x64") != std::string::npos, "%s", error->message);
  g_clear_error(&error);
  gst_message_unref(m);
}
GST_END_TEST;

// The first error on the bus within `timeout`, or null.
static GError* wait_for_error(GstBus* bus, GstClockTime timeout) {
  GstMessage* m = gst_bus_timed_pop_filtered(bus, timeout, GST_MESSAGE_ERROR);
  if (!m) return nullptr;
  GError* error = nullptr;
  gst_message_parse_error(m, &error, nullptr);
  gst_message_unref(m);
  return error;
}

// An exception thrown in any entry point GStreamer calls becomes an error on the bus: it never
// unwinds into GLib or libgstbase (WAN_GST_FAIL_IN makes that entry point throw on entry).
GST_START_TEST(test_no_exception_escapes) {
  enum class Drive { SetProperty, GetProperty, Play, PlayAndPull };
  struct Row {
    const char* where;
    Drive drive;
  };
  const Row rows[] = {
      {"set_property", Drive::SetProperty}, {"get_property", Drive::GetProperty},     {"start", Drive::Play},
      {"fixate", Drive::PlayAndPull},       {"set_caps", Drive::PlayAndPull},         {"query", Drive::PlayAndPull},
      {"fill", Drive::PlayAndPull},         {"preview pad task", Drive::PlayAndPull},
  };
  for (const Row& row : rows) {
    g_setenv("WAN_GST_FAIL_IN", row.where, TRUE);
    GstHarness* h = gst_harness_new_with_padnames("wanvideosrc", nullptr, "src");
    g_unsetenv("WAN_GST_FAIL_IN");
    GstBus* bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
    configure(h->element, kQuick);
    switch (row.drive) {
      case Drive::SetProperty: break;  // configure() set them
      case Drive::GetProperty: {
        gchar* prompt = nullptr;
        g_object_get(h->element, "prompt", &prompt, nullptr);
        g_free(prompt);
        break;
      }
      case Drive::Play:
        fail_unless_equals_int(gst_element_set_state(h->element, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
        break;
      case Drive::PlayAndPull: {
        gst_harness_play(h);
        // A failed query or caps event may end the stream without a buffer; an error must come either way.
        if (GstBuffer* b = gst_harness_try_pull(h)) gst_buffer_unref(b);
        break;
      }
    }
    GError* error = wait_for_error(bus, 60 * GST_SECOND);
    fail_unless(error != nullptr, "%s: no error on the bus", row.where);
    fail_unless(error->domain == GST_LIBRARY_ERROR && error->code == GST_LIBRARY_ERROR_FAILED,
                "%s: expected a library FAILED error, got %s %d: %s", row.where, g_quark_to_string(error->domain),
                error->code, error->message);
    fail_unless(std::string(error->message).find(row.where) != std::string::npos, "%s: %s", row.where, error->message);
    fail_unless(std::string(error->message).find('\n') == std::string::npos, "%s: %s", row.where, error->message);
    g_clear_error(&error);
    gst_harness_teardown(h);
    gst_object_unref(bus);
  }
}
GST_END_TEST;

// clips is a guint: above 2^31 it still means that many clips (it was cast to a negative int,
// and the element sent EOS with no buffer).
GST_START_TEST(test_clips_above_int_range) {
  Harnessed t({{"num-frames", "5"}, {"steps", "2"}, {"clips", "3000000000"}});
  guint clips = 0;
  g_object_get(t.h->element, "clips", &clips, nullptr);
  fail_unless_equals_uint64(clips, 3000000000u);
  gst_harness_play(t.h);
  GstBuffer* buffer = gst_harness_pull(t.h);
  fail_unless(buffer != nullptr, "no first buffer");
  gst_buffer_unref(buffer);
  // The stream's duration counts every clip (4 new frames per continued clip).
  gint64 frames = 0;
  fail_unless(gst_element_query_duration(t.h->element, GST_FORMAT_DEFAULT, &frames));
  fail_unless_equals_int64(frames, gint64(5) * 3000000000 - (3000000000 - 1));
  fail_unless(pop_messages(t.bus, GST_MESSAGE_ERROR).empty(), "an error with clips=3000000000");
}
GST_END_TEST;

// One table of bad inputs: each fails the start with the documented domain and code and a
// one-line message that names the problem.
GST_START_TEST(test_bad_inputs_table) {
  namespace fs = std::filesystem;
  const std::string dir = temp_dir();
  // A checkpoint folder without its DiT, and one whose DiT is cut short.
  const std::string no_dit = dir + "/no-dit", truncated = dir + "/truncated";
  for (const auto& copy : {no_dit, truncated}) fs::copy(model_path(), copy, fs::copy_options::recursive);
  for (const auto& entry : fs::directory_iterator(no_dit))
    if (entry.path().extension() == ".safetensors") fs::remove(entry.path());
  for (const auto& entry : fs::directory_iterator(truncated))
    if (entry.path().extension() == ".safetensors") fs::resize_file(entry.path(), fs::file_size(entry.path()) / 2);
  const std::string unknown_lora = dir + "/unknown-keys.safetensors";
  wan::save_safetensors(unknown_lora, {{"not_a_layer.lora_down.weight", at::zeros({4, 8})},
                                       {"not_a_layer.lora_up.weight", at::zeros({8, 4})}});
  const std::string text = dir + "/not-an-image.png";
  std::ofstream(text) << "this is text, not a picture\n";
  const std::string fifo = dir + "/fifo.png";
  fail_unless(mkfifo(fifo.c_str(), 0600) == 0);

  struct Row {
    Overrides settings;
    GQuark domain;
    gint code;
    std::string needle;
  };
  const GQuark res = GST_RESOURCE_ERROR, lib = GST_LIBRARY_ERROR, stream = GST_STREAM_ERROR;
  const gint settings = GST_LIBRARY_ERROR_SETTINGS;
  const std::vector<Row> rows = {
      {{{"model-path", ""}}, res, GST_RESOURCE_ERROR_NOT_FOUND, "model-path"},
      {{{"model-path", dir + "/nowhere"}}, res, GST_RESOURCE_ERROR_NOT_FOUND, dir + "/nowhere"},
      {{{"model-path", no_dit}}, res, GST_RESOURCE_ERROR_OPEN_READ, "diffusion_pytorch_model.safetensors"},
      {{{"model-path", truncated}}, res, GST_RESOURCE_ERROR_OPEN_READ, truncated},
      {{{"loras", unknown_lora}}, res, GST_RESOURCE_ERROR_OPEN_READ, "not_a_layer"},
      {{{"loras", unknown_lora + ":x"}}, lib, settings, "must be a number"},
      // What to do instead: the reason before it differs between CPU and CUDA builds.
      {{{"dtype", "fp8"}, {"device", "cpu"}}, lib, settings, ". Leave dtype at auto (the default) on this device."},
      {{{"attention", "fp8"}, {"device", "cpu"}}, lib, settings, "attention fp8 cannot run here"},
      {{{"attention", "int8"}, {"device", "cpu"}}, lib, settings, "attention int8 cannot run here"},
      {{{"image-location", text}}, stream, GST_STREAM_ERROR_DECODE, text},
      {{{"image-location", fifo}}, res, GST_RESOURCE_ERROR_OPEN_READ, "is not a regular file"},
      {{{"image-location", dir + "/none.png"}}, res, GST_RESOURCE_ERROR_NOT_FOUND, dir + "/none.png"},
      {{{"image-location", ""}}, lib, settings, "image-location"},
      {{{"last-image-location", text}, {"image-location", ""}}, lib, settings, "last-image-location"},
      {{{"num-frames", "10"}}, lib, settings, "num_frames"},
      {{{"num-frames", "-3"}}, lib, settings, "num_frames"},
      {{{"num-frames", "2000000001"}}, lib, settings, "num_frames"},
      {{{"max-area", "-5"}}, lib, settings, "max_area"},
      {{{"max-area", "100"}}, lib, settings, "max_area"},
      {{{"max-area", "9223372036854775807"}}, lib, settings, "max_area"},
      {{{"steps", "5000"}}, lib, settings, "steps"},
      {{{"steps", "-1"}}, lib, settings, "steps"},
      {{{"guidance-scale", "-5"}}, lib, settings, "guidance_scale"},
      {{{"shift", "-1"}}, lib, settings, "shift"},
      {{{"solver", "distill"}, {"timesteps", "1000,abc"}}, lib, settings, "abc"},
      {{{"solver", "distill"}, {"timesteps", "5000,100"}}, lib, settings, "5000"},
      {{{"solver", "unipc"}, {"timesteps", "1000,500"}}, lib, settings, "timesteps"},
      {{{"device", "gpu7"}}, lib, settings, "gpu7"},
  };
  for (const Row& row : rows) {
    std::string name;
    for (const auto& [key, value] : row.settings) name += key + "=" + value + " ";
    Overrides overrides = kQuick;
    overrides.insert(overrides.end(), row.settings.begin(), row.settings.end());
    Harnessed t(overrides);
    const auto begin = std::chrono::steady_clock::now();
    fail_unless_equals_int(gst_element_set_state(t.h->element, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    fail_unless(std::chrono::steady_clock::now() - begin < std::chrono::seconds(30), "%s: slow", name.c_str());
    GError* error = wait_for_error(t.bus, 0);
    fail_unless(error != nullptr, "%s: no error", name.c_str());
    const std::string message = error->message;
    fail_unless(error->domain == row.domain && error->code == row.code, "%s: expected %s %d, got %s %d: %s",
                name.c_str(), g_quark_to_string(row.domain), row.code, g_quark_to_string(error->domain), error->code,
                error->message);
    fail_unless(message.find(row.needle) != std::string::npos, "%s: \"%s\" does not mention \"%s\"", name.c_str(),
                error->message, row.needle.c_str());
    fail_unless(message.find('\n') == std::string::npos && message.size() < 600, "%s: not one short line: %s",
                name.c_str(), error->message);
    g_clear_error(&error);
  }
  fs::remove_all(dir);
}
GST_END_TEST;

// The preview pad's far end: a bare sink pad that keeps what arrives.
struct PreviewSink {
  GstPad* pad = nullptr;
  bool link = true;  // false: the preview pad stays unlinked
  std::mutex mutex;
  std::vector<GstBuffer*> buffers;
  GstCaps* caps = nullptr;
  int eos = 0;
  std::atomic<int> added{0};

  PreviewSink() {
    pad = gst_pad_new("preview-sink", GST_PAD_SINK);
    gst_pad_set_element_private(pad, this);
    gst_pad_set_chain_function(pad, [](GstPad* p, GstObject*, GstBuffer* buffer) {
      auto* self = static_cast<PreviewSink*>(gst_pad_get_element_private(p));
      std::lock_guard<std::mutex> lock(self->mutex);
      self->buffers.push_back(buffer);
      return GST_FLOW_OK;
    });
    gst_pad_set_event_function(pad, [](GstPad* p, GstObject*, GstEvent* event) -> gboolean {
      auto* self = static_cast<PreviewSink*>(gst_pad_get_element_private(p));
      std::lock_guard<std::mutex> lock(self->mutex);
      if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
        GstCaps* caps = nullptr;
        gst_event_parse_caps(event, &caps);
        gst_caps_replace(&self->caps, caps);
      }
      if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) ++self->eos;
      gst_event_unref(event);
      return TRUE;
    });
    gst_pad_set_active(pad, TRUE);
  }
  ~PreviewSink() {
    for (GstBuffer* b : buffers) gst_buffer_unref(b);
    if (caps) gst_caps_unref(caps);
    gst_pad_set_active(pad, FALSE);
    gst_object_unref(pad);
  }
  void watch(GstElement* element) { g_signal_connect(element, "pad-added", G_CALLBACK(on_pad_added), this); }
  static void on_pad_added(GstElement*, GstPad* pad, gpointer data) {
    auto* self = static_cast<PreviewSink*>(data);
    if (std::string(GST_PAD_NAME(pad)) != "preview") return;
    ++self->added;
    if (self->link) fail_unless_equals_int(gst_pad_link(pad, self->pad), GST_PAD_LINK_OK);
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mutex);
    return buffers.size();
  }
  // Waits (up to a minute) until `n` buffers or an EOS came.
  bool wait_for(size_t n, bool for_eos = false) {
    for (int i = 0; i < 6000; ++i) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (for_eos ? eos > 0 : buffers.size() >= n) return true;
      }
      g_usleep(10000);
    }
    return false;
  }
};

bool has_preview_pad(GstElement* element) {
  GstPad* pad = gst_element_get_static_pad(element, "preview");
  if (pad) gst_object_unref(pad);
  return pad != nullptr;
}

// The messages of this name among the element messages on the bus.
std::vector<GstMessage*> element_messages(GstBus* bus, const char* name) {
  std::vector<GstMessage*> all = pop_messages(bus, GST_MESSAGE_ELEMENT), named;
  for (GstMessage* m : all) {
    if (is_element_message(m, name))
      named.push_back(m);
    else
      gst_message_unref(m);
  }
  return named;
}

// One picture per step and clip: the latent frames side by side (two latent frames of a
// 5-frame clip), at 1/8 of the video's size; OFFSET the step, PTS and DURATION the clip's
// place in the main stream; a wan-preview message per step; EOS after the last clip.
GST_START_TEST(test_preview_pad) {
  PreviewSink sink;
  Harnessed t({{"num-frames", "5"}, {"steps", "2"}, {"clips", "2"}});
  sink.watch(t.h->element);
  gst_harness_play(t.h);
  std::vector<GstBuffer*> frames = pull_all(t.h);
  fail_unless_equals_int(sink.added.load(), 1);
  fail_unless(has_preview_pad(t.h->element));
  const GstVideoInfo info = negotiated(t.h);
  fail_unless_equals_int(frames.size(), 5 + 4);
  unref_all(frames);
  fail_unless(sink.wait_for(0, true), "no EOS on the preview pad");

  std::lock_guard<std::mutex> lock(sink.mutex);
  fail_unless_equals_int(sink.buffers.size(), 2 * 2);
  fail_unless_equals_int(sink.eos, 1);
  const int width = GST_VIDEO_INFO_WIDTH(&info), height = GST_VIDEO_INFO_HEIGHT(&info);
  fail_unless(sink.caps != nullptr);
  GstStructure* s = gst_caps_get_structure(sink.caps, 0);
  fail_unless_equals_string(gst_structure_get_string(s, "format"), "RGB");
  fail_unless_equals_int(caps_int(sink.caps, "width"), 2 * width / 8);
  fail_unless_equals_int(caps_int(sink.caps, "height"), height / 8);
  int n = -1, d = -1;
  fail_unless(gst_structure_get_fraction(s, "framerate", &n, &d));
  fail_unless(n == 0 && d == 1, "framerate %d/%d", n, d);
  GstVideoInfo preview_info;
  fail_unless(gst_video_info_from_caps(&preview_info, sink.caps));
  for (size_t i = 0; i < sink.buffers.size(); ++i) {
    GstBuffer* b = sink.buffers[i];
    const int clip = int(i / 2);
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(b), i % 2 + 1);
    fail_unless_equals_uint64(GST_BUFFER_PTS(b), clip == 0 ? 0 : frame_time(5, info));
    fail_unless_equals_uint64(GST_BUFFER_DURATION(b),
                              clip == 0 ? frame_time(5, info) : frame_time(9, info) - frame_time(5, info));
    fail_unless_equals_uint64(gst_buffer_get_size(b), GST_VIDEO_INFO_SIZE(&preview_info));
  }

  std::vector<GstMessage*> messages = element_messages(t.bus, "wan-preview");
  fail_unless_equals_int(messages.size(), 2 * 2);
  for (size_t i = 0; i < messages.size(); ++i) {
    const GstStructure* m = gst_message_get_structure(messages[i]);
    guint clip = 0;
    int step = 0, total = 0, latent_frames = 0, w = 0;
    fail_unless(gst_structure_get(m, "clip", G_TYPE_UINT, &clip, "step", G_TYPE_INT, &step, "total-steps", G_TYPE_INT,
                                  &total, "frames", G_TYPE_INT, &latent_frames, "width", G_TYPE_INT, &w, nullptr));
    fail_unless(clip == i / 2 && step == int(i % 2) + 1 && total == 2 && latent_frames == 2 && w == 2 * width / 8,
                "message %d: clip %u step %d/%d frames %d width %d", int(i), clip, step, total, latent_frames, w);
  }
  unref_all(messages);
}
GST_END_TEST;

// Plays a 5-frame, 2-step clip with full-size previews and returns the first 8 rows of the last
// preview's first 8 pixels (RGB), after checking there was one preview per step at twice the
// video's width (3 latent frames: 2 columns) and its height.
std::vector<std::vector<uint8_t>> full_size_preview_corner(const Overrides& extra) {
  Overrides overrides{{"num-frames", "5"}, {"steps", "2"}, {"preview-size", "full"}};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  PreviewSink sink;
  Harnessed t(overrides);
  sink.watch(t.h->element);
  gst_harness_play(t.h);
  std::vector<GstBuffer*> frames = pull_all(t.h);
  const GstVideoInfo info = negotiated(t.h);
  unref_all(frames);
  fail_unless(sink.wait_for(0, true), "no EOS on the preview pad");
  std::lock_guard<std::mutex> lock(sink.mutex);
  fail_unless_equals_int(sink.buffers.size(), 2);
  fail_unless_equals_int(caps_int(sink.caps, "width"), 2 * GST_VIDEO_INFO_WIDTH(&info));
  fail_unless_equals_int(caps_int(sink.caps, "height"), GST_VIDEO_INFO_HEIGHT(&info));
  GstVideoInfo preview_info;
  fail_unless(gst_video_info_from_caps(&preview_info, sink.caps));
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &preview_info, sink.buffers.back(), GST_MAP_READ));
  const auto* data = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  std::vector<std::vector<uint8_t>> rows;
  for (int y = 0; y < 8; ++y) rows.emplace_back(data + y * stride, data + y * stride + 8 * 3);
  gst_video_frame_unmap(&frame);
  return rows;
}

// True when all 8x8 pixels have the first pixel's colour.
bool one_colour(const std::vector<std::vector<uint8_t>>& rows) {
  for (const auto& row : rows)
    for (size_t x = 0; x < row.size(); ++x)
      if (row[x] != rows[0][x % 3]) return false;
  return true;
}

// preview-size=full: the latent pixels repeated 8x8 (nearest: each 8x8 block is one colour).
GST_START_TEST(test_preview_full_size) { fail_unless(one_colour(full_size_preview_corner({}))); }
GST_END_TEST;

// preview-model: with TAEW2.1 weights (random here, of its shapes) full-size previews are that
// decoder's frames, not the linear map's 8x8 blocks of one colour; a preview model that is not
// there fails the start.
GST_START_TEST(test_preview_model) {
  const std::string path = temp_dir() + "/taew2_1.safetensors";
  wan::save_safetensors(path, wan::test::random_taehv_weights(5));
  fail_unless(!one_colour(full_size_preview_corner({{"preview-model", path}})),
              "the preview is the linear map's 8x8 blocks, not the decoder's frames");

  expect_start_failure({{"preview-model", temp_dir() + "/no-taew2_1.pth"}}, GST_RESOURCE_ERROR,
                       GST_RESOURCE_ERROR_NOT_FOUND, "no-taew2_1.pth");
}
GST_END_TEST;

// Unlinked, the pad costs nothing: no step is rendered (no wan-preview message); with
// preview=false there is no pad at all. The video is the same either way.
GST_START_TEST(test_preview_unlinked_or_off) {
  for (const char* preview : {"true", "false"}) {
    PreviewSink sink;
    sink.link = false;
    Harnessed t({{"num-frames", "5"}, {"steps", "2"}, {"preview", preview}});
    sink.watch(t.h->element);
    gst_harness_play(t.h);
    std::vector<GstBuffer*> frames = pull_all(t.h);
    fail_unless_equals_int(frames.size(), 5);
    unref_all(frames);
    fail_unless_equals_int(sink.added.load(), std::string(preview) == "true" ? 1 : 0);
    std::vector<GstMessage*> messages = element_messages(t.bus, "wan-preview");
    fail_unless_equals_int(messages.size(), 0);
    unref_all(messages);
    fail_unless_equals_int(sink.count(), 0);
  }
}
GST_END_TEST;

// Going to NULL mid-generation stops the previews at once and removes the pad; the next
// start adds it again and previews flow again.
GST_START_TEST(test_preview_stops_with_element) {
  PreviewSink sink;
  Harnessed t({{"num-frames", "9"}, {"steps", "20"}, {"clips", "0"}});
  sink.watch(t.h->element);
  for (int round = 0; round < 2; ++round) {
    const size_t before = sink.count();
    gst_harness_play(t.h);
    fail_unless(sink.wait_for(before + 1), "round %d: no preview within a minute", round);
    fail_unless_equals_int(sink.added.load(), round + 1);
    const auto begin = std::chrono::steady_clock::now();
    fail_unless_equals_int(gst_element_set_state(t.h->element, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    fail_unless(seconds < 5.0, "round %d: PLAYING -> NULL took %.2f s", round, seconds);
    fail_unless(!has_preview_pad(t.h->element), "the preview pad outlived the stop");
    fail_unless(!gst_pad_is_linked(sink.pad));
    const size_t stopped = sink.count();
    g_usleep(300000);
    fail_unless_equals_int(sink.count(), stopped);
  }
}
GST_END_TEST;

// The fixture's checkpoint folder with its DiT made another task's, its other files linked
// (written once per task). "flf2v": the i2v DiT plus the first/last-frame position embedding,
// which fixes the CLIP tokens at 257 a frame, so the CLIP tower gets 16x16 patches of 14 pixels
// (the fixture's has 4x4); "t2v": the DiT without its image parts.
std::string checkpoint_of_task(const std::string& model_type) {
  namespace fs = std::filesystem;
  static std::map<std::string, std::string> written;
  if (written.count(model_type)) return written[model_type];
  const std::string dir = temp_dir() + "/" + model_type;
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(model_path())) {
    const std::string name = entry.path().filename().string();
    const bool clip = name.rfind("models_clip_", 0) == 0;
    if (name != "config.json" && name != "diffusion_pytorch_model.safetensors" && !(clip && model_type == "flf2v"))
      fs::create_symlink(fs::absolute(entry.path()), dir + "/" + name);
  }
  wan::TensorMap weights = wan::load_safetensors(model_path() + "/diffusion_pytorch_model.safetensors");
  std::ifstream in(model_path() + "/config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  config["model_type"] = model_type;
  at::manual_seed(21);
  if (model_type == "flf2v") {
    weights["img_emb.emb_pos"] = (at::randn({1, 2 * 257, 1280}) * 0.1).to(at::kBFloat16);
    const std::string clip_name = "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth";
    wan::TensorMap clip = wan::load_checkpoint_file(model_path() + "/" + clip_name);
    clip["visual.patch_embedding.weight"] = (at::randn({1280, 3, 14, 14}) * 0.02).to(at::kHalf);
    clip["visual.pos_embedding"] = (at::randn({1, 257, 1280}) * 0.02).to(at::kHalf);
    wan::save_pth(dir + "/" + clip_name, clip);
  } else {
    for (auto it = weights.begin(); it != weights.end();)
      it = it->first.find("img") != std::string::npos ? weights.erase(it) : std::next(it);
    weights["patch_embedding.weight"] = weights["patch_embedding.weight"].slice(1, 0, 16).contiguous();
    config["in_dim"] = 16;
  }
  wan::save_safetensors(dir + "/diffusion_pytorch_model.safetensors", weights, {{"format", "pt"}});
  std::ofstream(dir + "/config.json") << config.dump(2);
  return written[model_type] = dir;
}

// A PNG of videotestsrc's `pattern` at the fixture image's size (pngenc is in the same plugin as
// the pngdec the fixture's image needs).
std::string keyframe_png(const std::string& pattern) {
  const std::string path = temp_dir() + "/" + pattern + ".png";
  GError* error = nullptr;
  GstElement* writer = gst_parse_launch(("videotestsrc num-buffers=1 pattern=" + pattern +
                                         " ! video/x-raw,width=118,height=75 ! pngenc ! filesink location=" + path)
                                            .c_str(),
                                        &error);
  fail_unless(writer && !error, "cannot make the keyframe writer: %s", error ? error->message : "");
  gst_element_set_state(writer, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(writer);
  GstMessage* done =
      gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(done && GST_MESSAGE_TYPE(done) == GST_MESSAGE_EOS, "could not write %s", path.c_str());
  gst_message_unref(done);
  gst_object_unref(bus);
  gst_element_set_state(writer, GST_STATE_NULL);
  gst_object_unref(writer);
  return path;
}

// The fixture's image and two test patterns, all of one size.
std::vector<std::string> keyframe_images() {
  static const std::vector<std::string> images = {case_dir() + "/input.png", keyframe_png("smpte"),
                                                  keyframe_png("checkers-8"), keyframe_png("zone-plate")};
  return images;
}

std::string joined(const std::vector<std::string>& paths, size_t count) {
  std::string list;
  for (size_t i = 0; i < count; ++i) list += (i ? "," : "") + paths[i];
  return list;
}

// A video through `keyframes` of the keyframe images on the flf2v checkpoint, 5 frames and
// 2 steps a segment.
Overrides keyframe_settings(size_t keyframes, const std::string& device = "cpu") {
  return {{"model-path", checkpoint_of_task("flf2v")},
          {"image-location", ""},
          {"keyframes", joined(keyframe_images(), keyframes)},
          {"num-frames", "5"},
          {"steps", "2"},
          {"seed", "100"},
          {"device", device}};
}

// 3 keyframes, 2 segments: 5 + 4 frames (the middle keyframe's frame once), timestamps and
// offsets running on, each segment's tags with its seed and prompt, and the frames those of
// each segment made alone as a first-last-frame clip, the second without its first frame.
GST_START_TEST(test_keyframes_segments) {
  Overrides settings = keyframe_settings(3);
  settings.emplace_back("prompts", "<\"the first segment, slowly\", \"the second segment\">");
  Harnessed t(settings);
  gst_harness_play(t.h);
  std::vector<GstBuffer*> buffers = pull_all(t.h);
  fail_unless_equals_int(buffers.size(), 5 + 4);
  check_timestamps(buffers, negotiated(t.h));
  gint64 duration = 0;
  fail_unless(gst_element_query_duration(t.h->element, GST_FORMAT_DEFAULT, &duration));
  fail_unless_equals_int64(duration, 9);
  const Frames video = frames_of(buffers);

  std::vector<std::string> titles, comments;
  while (GstEvent* event = gst_harness_try_pull_event(t.h)) {
    if (GST_EVENT_TYPE(event) == GST_EVENT_TAG) {
      GstTagList* list = nullptr;
      gst_event_parse_tag(event, &list);
      gchar *title = nullptr, *comment = nullptr;
      if (gst_tag_list_get_string(list, GST_TAG_TITLE, &title)) titles.push_back(title);
      if (gst_tag_list_get_string(list, GST_TAG_COMMENT, &comment)) comments.push_back(comment);
      g_free(title);
      g_free(comment);
    }
    gst_event_unref(event);
  }
  fail_unless(titles == std::vector<std::string>({"the first segment, slowly", "the second segment"}),
              "segment titles: %zu", titles.size());
  fail_unless(comments.size() == 2 && comments[0].find("seed=100") != std::string::npos &&
              comments[1].find("seed=101") != std::string::npos);

  const std::vector<std::string> images = keyframe_images();
  auto alone = [&](int segment, const std::string& prompt) {
    return generate_alone({{"model-path", checkpoint_of_task("flf2v")},
                           {"image-location", images[segment]},
                           {"last-image-location", images[segment + 1]},
                           {"prompt", prompt},
                           {"num-frames", "5"},
                           {"steps", "2"},
                           {"seed", std::to_string(100 + segment)}});
  };
  const Frames first = alone(0, "the first segment, slowly"), second = alone(1, "the second segment");
  fail_unless(first.size() == 5 && second.size() == 5);
  fail_unless(first != second, "the two segments are the same video");
  for (size_t i = 0; i < 5; ++i) fail_unless(video[i] == first[i], "frame %zu is not segment 0's frame %zu", i, i);
  for (size_t i = 1; i < 5; ++i)
    fail_unless(video[4 + i] == second[i], "frame %zu is not segment 1's frame %zu", 4 + i, i);
}
GST_END_TEST;

// Two pipelines on one device (device=cpu,cpu) make the same frames as one, in order.
GST_START_TEST(test_keyframes_two_pipelines) {
  auto run = [](const std::string& device) {
    Harnessed t(keyframe_settings(4, device));
    gst_harness_play(t.h);
    std::vector<GstBuffer*> buffers = pull_all(t.h);
    fail_unless_equals_int(buffers.size(), 5 + 4 + 4);
    check_timestamps(buffers, negotiated(t.h));
    return frames_of(buffers);
  };
  const Frames one = run("cpu"), two = run("cpu,cpu");
  fail_unless(one == two, "two pipelines made other frames than one");
}
GST_END_TEST;

GST_START_TEST(test_keyframes_bad_input) {
  const std::vector<std::string> images = keyframe_images();
  const GQuark settings = GST_LIBRARY_ERROR;
  const gint bad = GST_LIBRARY_ERROR_SETTINGS;
  Overrides one = keyframe_settings(1);
  expect_start_failure(one, settings, bad, "needs at least two");
  Overrides missing = keyframe_settings(2);
  missing[2].second += ",/nonexistent/keyframe.png";
  expect_start_failure(missing, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
                       "Keyframe 3 of 3: The image file \"/nonexistent/keyframe.png\"");
  const std::string dir = temp_dir();
  std::ofstream(dir + "/text.png") << "this is text, not a picture\n";
  Overrides undecodable = keyframe_settings(1);
  undecodable[2].second += "," + dir + "/text.png";
  expect_start_failure(undecodable, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE, "Keyframe 2 of 2");
  Overrides i2v = keyframe_settings(3);
  i2v[0].second = model_path();
  expect_start_failure(i2v, settings, bad, "keyframes need a first-last-frame-to-video (flf2v) checkpoint");
  Overrides t2v = keyframe_settings(3);
  t2v[0].second = checkpoint_of_task("t2v");
  expect_start_failure(t2v, settings, bad, "is a t2v model");
  Overrides prompts = keyframe_settings(3);
  prompts.emplace_back("prompts", "<\"only one\">");
  expect_start_failure(prompts, settings, bad, "1 prompt(s) for 2 segment(s)");
  Overrides with_image = keyframe_settings(3);
  with_image[1].second = images[0];
  expect_start_failure(with_image, settings, bad, "keyframes replace image-location");
  expect_start_failure({{"device", "cpu,cpu"}}, settings, bad, "several devices serve the segments of keyframes");
  expect_start_failure({{"prompts", "<\"a\", \"b\">"}}, settings, bad, "it needs keyframes");
  std::filesystem::remove_all(dir);
}
GST_END_TEST;

// Stopping while two pipelines make segments returns at once, from the application's thread
// and from a segment's own (a bus sync handler of its wan-progress), and the element plays again.
GST_START_TEST(test_keyframes_stop) {
  Overrides settings = keyframe_settings(4, "cpu,cpu");
  settings.emplace_back("num-frames", "9");
  settings.emplace_back("steps", "20");
  {
    Harnessed t(settings);
    gst_harness_play(t.h);
    int denoising = 0;  // steps seen, of either segment
    while (denoising < 2) {
      GstMessage* m = gst_bus_timed_pop_filtered(t.bus, 60 * GST_SECOND, GST_MESSAGE_ELEMENT);
      fail_unless(m != nullptr, "no denoising progress within 60 s");
      const gchar* phase = is_element_message(m, "wan-progress")
                               ? gst_structure_get_string(gst_message_get_structure(m), "phase")
                               : nullptr;
      denoising += phase && std::string(phase) == "denoise";
      gst_message_unref(m);
    }
    const auto begin = std::chrono::steady_clock::now();
    fail_unless_equals_int(gst_element_set_state(t.h->element, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    fail_unless(seconds < 5.0, "PLAYING -> NULL took %.2f s", seconds);
  }
  Harnessed t(settings);
  stop_from_generation_thread_and_play_again(t, "the stop from a segment");
}
GST_END_TEST;

static Suite* wanvideosrc_suite() {
  Suite* s = suite_create("wanvideosrc");
  TCase* tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_frames_match_reference);
  tcase_add_test(tc, test_default_caps);
  tcase_add_test(tc, test_frame_count_timestamps_eos);
  tcase_add_test(tc, test_downstream_caps);
  tcase_add_test(tc, test_queries);
  tcase_add_test(tc, test_continuous_clips);
  tcase_add_test(tc, test_prompt_change_applies_next_clip);
  tcase_add_test(tc, test_random_seed_reported);
  tcase_add_test(tc, test_progress_messages);
  tcase_add_test(tc, test_stop_mid_generation);
  tcase_add_test(tc, test_stop_from_generation_thread);
  tcase_add_test(tc, test_step_cache_reported);
  tcase_add_test(tc, test_step_cache_window);
  tcase_add_test(tc, test_bad_cache_window);
  tcase_add_test(tc, test_soak_stop_in_every_phase);
  tcase_add_test(tc, test_two_elements_share_one_model);
  tcase_add_test(tc, test_lora_and_plain_elements_side_by_side);
  tcase_add_test(tc, test_loras_change_applies_next_clip);
  tcase_add_test(tc, test_bad_lora);
  tcase_add_test(tc, test_missing_model);
  tcase_add_test(tc, test_corrupt_model);
  tcase_add_test(tc, test_missing_image);
  tcase_add_test(tc, test_undecodable_image);
  tcase_add_test(tc, test_image_not_a_file);
  tcase_add_test(tc, test_image_too_large);
  tcase_add_test(tc, test_task_needs_image);
  tcase_add_test(tc, test_bad_frame_count);
  tcase_add_test(tc, test_bad_device);
  tcase_add_test(tc, test_unsupported_size);
  tcase_add_test(tc, test_no_exception_escapes);
  tcase_add_test(tc, test_clips_above_int_range);
  tcase_add_test(tc, test_bad_inputs_table);
  tcase_add_test(tc, test_preview_pad);
  tcase_add_test(tc, test_preview_full_size);
  tcase_add_test(tc, test_preview_model);
  tcase_add_test(tc, test_preview_unlinked_or_off);
  tcase_add_test(tc, test_preview_stops_with_element);
  tcase_add_test(tc, test_keyframes_segments);
  tcase_add_test(tc, test_keyframes_two_pipelines);
  tcase_add_test(tc, test_keyframes_bad_input);
  tcase_add_test(tc, test_keyframes_stop);
  return s;
}

GST_CHECK_MAIN(wanvideosrc);
