// wanvideosrc in live mode (live=true) in a real pipeline with the system clock, on a tiny
// causal checkpoint made from the e2e-i2v-tiny fixture (tests/common/tiny_causal_checkpoint.h):
// frames stamped with increasing running time, the LATENCY query answering live, a prompt
// changed while PLAYING acting from the next chunk on, PLAYING -> NULL -> PLAYING, a stalled
// downstream reported as wan-live-behind, the frames stamped for the latency configured (the
// LATENCY event), and the wrong kind of checkpoint in either mode.
// The C++ headers come first: check.h defines a `fail` macro that breaks std headers.
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include "tests/common/random_taehv.h"
#include "tests/common/tiny_causal_checkpoint.h"

#include <gst/base/gstbasesrc.h>
#include <gst/check/gstcheck.h>

namespace {

namespace fs = std::filesystem;

constexpr int kWidth = 80, kHeight = 48;
// A frame rate at which the tiny model keeps up on a loaded machine too: 3 s per chunk.
constexpr const char* kGenerousRate = ",framerate=4/1";

// The tiny causal checkpoint, made once per process and removed at its exit.
const std::string& causal_model() {
  struct Folder {
    fs::path dir;
    std::string model;
    ~Folder() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  };
  static const Folder folder = [] {
    const gchar* fixtures = g_getenv("WAN_FIXTURES");
    fail_unless(fixtures != nullptr, "WAN_FIXTURES must name tests/fixtures");
    Folder f;
    f.dir = fs::temp_directory_path() / ("wan-test-live-" + std::to_string(::getpid()));
    f.model = wan::test::make_tiny_causal_checkpoint(fs::path(fixtures) / "e2e-i2v-tiny" / "ckpt", f.dir);
    return f;
  }();
  return folder.model;
}

std::string bidirectional_model() { return std::string(g_getenv("WAN_FIXTURES")) + "/e2e-i2v-tiny/ckpt"; }

struct Frame {
  GstClockTime pts = GST_CLOCK_TIME_NONE, duration = GST_CLOCK_TIME_NONE;
  guint64 offset = 0;
  GstClockTime pulled_at = GST_CLOCK_TIME_NONE;  // running time when the sink had it
  std::vector<uint8_t> rgb;
};

struct LivePipeline {
  GstElement* pipeline = nullptr;
  GstElement* src = nullptr;
  GstElement* sink = nullptr;
  GstBus* bus = nullptr;

  // `caps` is added to the caps between source and sink (",framerate=4/1").
  LivePipeline(const std::string& model, const std::string& prompt, const std::string& sink_props = "sync=false",
               const std::string& caps = "") {
    GError* error = nullptr;
    const std::string description =
        "wanvideosrc name=src live=true device=cpu seed=11 ! video/x-raw,format=RGB,width=" + std::to_string(kWidth) +
        ",height=" + std::to_string(kHeight) + caps + " ! appsink name=sink " + sink_props;
    pipeline = gst_parse_launch(description.c_str(), &error);
    fail_unless(pipeline != nullptr && error == nullptr, "parse: %s", error ? error->message : "?");
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    g_object_set(src, "model-path", model.c_str(), "prompt", prompt.c_str(), nullptr);
    bus = gst_element_get_bus(pipeline);
  }
  ~LivePipeline() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(bus);
    gst_object_unref(sink);
    gst_object_unref(src);
    gst_object_unref(pipeline);
  }

  GstClockTime running_time() {
    GstClock* clock = gst_element_get_clock(pipeline);
    if (!clock) return GST_CLOCK_TIME_NONE;
    const GstClockTime now = gst_clock_get_time(clock) - gst_element_get_base_time(pipeline);
    gst_object_unref(clock);
    return now;
  }

  void play() {
    const GstStateChangeReturn ret = gst_element_set_state(pipeline, GST_STATE_PLAYING);
    fail_unless(ret != GST_STATE_CHANGE_FAILURE, "PLAYING failed");
    fail_unless(gst_element_get_state(pipeline, nullptr, nullptr, 60 * GST_SECOND) == GST_STATE_CHANGE_SUCCESS,
                "PLAYING not reached");
  }

  std::vector<Frame> pull(int n) {
    std::vector<Frame> frames;
    for (int i = 0; i < n; ++i) {
      GstSample* sample = nullptr;
      g_signal_emit_by_name(sink, "try-pull-sample", GstClockTime(60 * GST_SECOND), &sample);
      fail_unless(sample != nullptr, "no frame %d within 60 s", i);
      GstBuffer* buffer = gst_sample_get_buffer(sample);
      Frame f;
      f.pts = GST_BUFFER_PTS(buffer);
      f.duration = GST_BUFFER_DURATION(buffer);
      f.offset = GST_BUFFER_OFFSET(buffer);
      f.pulled_at = running_time();
      GstMapInfo map;
      fail_unless(gst_buffer_map(buffer, &map, GST_MAP_READ));
      f.rgb.assign(map.data, map.data + map.size);
      gst_buffer_unmap(buffer, &map);
      gst_sample_unref(sample);
      frames.push_back(std::move(f));
    }
    return frames;
  }

  // The element messages named `name` on the bus so far.
  std::vector<GstStructure*> messages(const char* name) {
    std::vector<GstStructure*> found;
    while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
      const GstStructure* s = gst_message_get_structure(m);
      if (s && gst_structure_has_name(s, name)) found.push_back(gst_structure_copy(s));
      gst_message_unref(m);
    }
    return found;
  }
};

void free_all(std::vector<GstStructure*>& structures) {
  for (GstStructure* s : structures) gst_structure_free(s);
  structures.clear();
}

bool same_pixels(const std::vector<Frame>& a, const std::vector<Frame>& b, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i)
    if (a[i].rgb != b[i].rgb) return false;
  return true;
}

// The error the start posted (nullptr: none), with its domain and code.
GError* start_error(const std::string& model, bool live,
                    const std::vector<std::pair<const char*, const char*>>& properties = {}) {
  GstElement* src = gst_element_factory_make("wanvideosrc", nullptr);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(src, bus);
  g_object_set(src, "model-path", model.c_str(), "device", "cpu", "live", live, nullptr);
  for (const auto& [name, value] : properties) gst_util_set_object_arg(G_OBJECT(src), name, value);
  const GstStateChangeReturn ret = gst_element_set_state(src, GST_STATE_PAUSED);
  GError* error = nullptr;
  if (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    gst_message_parse_error(m, &error, nullptr);
    gst_message_unref(m);
  }
  fail_unless(ret == GST_STATE_CHANGE_FAILURE || error == nullptr, "an error without a failed state change");
  gst_element_set_state(src, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(bus);
  return error;
}

// Property settings (each case: its properties, then a word its error must hold).
using RefusalCases = std::vector<std::pair<std::vector<std::pair<const char*, const char*>>, const char*>>;

// Each case on the live causal model fails the start as LIBRARY SETTINGS, its message naming it.
void expect_refused(const RefusalCases& cases) {
  for (const auto& [properties, needle] : cases) {
    GError* error = start_error(causal_model(), true, properties);
    fail_unless(error != nullptr, "%s: the start fails", needle);
    fail_unless(g_error_matches(error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS), "%s", error->message);
    fail_unless(std::strstr(error->message, needle) != nullptr, "'%s' not in: %s", needle, error->message);
    g_error_free(error);
  }
}

// Frames numbered from 0, each stamped and lasting until the next, of the test's size.
void expect_continuous_frames(const std::vector<Frame>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    fail_unless_equals_uint64(frames[i].offset, i);
    fail_unless(GST_CLOCK_TIME_IS_VALID(frames[i].pts) && frames[i].duration > 0, "frame %zu stamped", i);
    if (i > 0) fail_unless(frames[i].pts > frames[i - 1].pts, "frame %zu's time goes on", i);
    if (i > 0) fail_unless_equals_uint64(frames[i].pts - frames[i - 1].pts, frames[i - 1].duration);
    fail_unless(frames[i].rgb.size() == size_t(kWidth) * kHeight * 3);
  }
}

// The stream's wan-live-chunk messages: chunk 0 of 9 frames, chunk 1 of 12 from frame 9.
void expect_chunk_messages(LivePipeline& p) {
  std::vector<GstStructure*> chunks = p.messages("wan-live-chunk");
  fail_unless(chunks.size() >= 2, "a wan-live-chunk per chunk (%zu)", chunks.size());
  int n = 0;
  guint64 index = 1, first = 1;
  fail_unless(gst_structure_get_int(chunks[0], "frames", &n) && n == 9, "chunk 0: 9 frames (%d)", n);
  fail_unless(gst_structure_get_uint64(chunks[1], "chunk", &index) && index == 1);
  fail_unless(gst_structure_get_uint64(chunks[1], "first-frame", &first) && first == 9);
  fail_unless(gst_structure_get_int(chunks[1], "frames", &n) && n == 12, "chunk 1: 12 frames (%d)", n);
  free_all(chunks);
}

struct Latency {
  gboolean live = FALSE;
  GstClockTime min = 0, max = 0;
};

// The source's answer to a LATENCY query (which must be answered).
Latency query_latency(GstElement* src) {
  GstQuery* query = gst_query_new_latency();
  fail_unless(gst_element_query(src, query), "the LATENCY query is answered");
  Latency l;
  gst_query_parse_latency(query, &l.live, &l.min, &l.max);
  gst_query_unref(query);
  return l;
}

}  // namespace

GST_START_TEST(test_live_frames_and_latency) {
  // Slow enough that no frame is late on a loaded machine: the stamps run on unbroken.
  LivePipeline p(causal_model(), "a red house on a green hill", "sync=false", kGenerousRate);
  fail_unless(gst_base_src_is_live(GST_BASE_SRC(p.src)), "live=true makes the source live");
  p.play();
  const std::vector<Frame> frames = p.pull(9 + 12 + 3);
  expect_continuous_frames(frames);
  // Frame 0 carries the running time it was made at: not later than the sink got it.
  fail_unless(frames[0].pts <= frames[0].pulled_at, "frame 0 at %" GST_TIME_FORMAT ", pulled at %" GST_TIME_FORMAT,
              GST_TIME_ARGS(frames[0].pts), GST_TIME_ARGS(frames[0].pulled_at));
  fail_unless(frames[0].pts > 0, "running time, not a stream starting at 0");

  const Latency latency = query_latency(p.src);
  fail_unless(latency.live, "LATENCY says live");
  fail_unless(latency.min > 0 && GST_CLOCK_TIME_IS_VALID(latency.max) && latency.max >= latency.min,
              "min %" GST_TIME_FORMAT " max %" GST_TIME_FORMAT, GST_TIME_ARGS(latency.min), GST_TIME_ARGS(latency.max));
  expect_chunk_messages(p);
}
GST_END_TEST;

// Before the first chunk is measured (the pipeline asks going to PLAYING) the minimum latency
// is a chunk's play time at the caps' frame rate: 12 frames at 4 fps.
GST_START_TEST(test_live_latency_before_generating) {
  LivePipeline p(causal_model(), "a red house on a green hill", "sync=false", kGenerousRate);
  fail_unless(gst_element_set_state(p.pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_NO_PREROLL,
              "a live source does not preroll");
  const Latency latency = query_latency(p.src);
  fail_unless(latency.live, "LATENCY says live");
  fail_unless_equals_uint64(latency.min, 3 * GST_SECOND);
  fail_unless(GST_CLOCK_TIME_IS_VALID(latency.max) && latency.max >= latency.min);
}
GST_END_TEST;

// The prompt set from a bus sync handler when chunk 0 is done: chunk 1 is made with it.
GstBusSyncReply change_prompt_after_chunk0(GstBus*, GstMessage* message, gpointer src) {
  const GstStructure* s = gst_message_get_structure(message);
  guint64 chunk = 1;
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name(s, "wan-live-chunk") &&
      gst_structure_get_uint64(s, "chunk", &chunk) && chunk == 0)
    g_object_set(G_OBJECT(src), "prompt", "a blue boat on a grey sea", nullptr);
  return GST_BUS_PASS;
}

GST_START_TEST(test_live_prompt_change_next_chunk) {
  std::vector<Frame> reference, changed;
  {
    LivePipeline p(causal_model(), "a red house on a green hill");
    p.play();
    reference = p.pull(9 + 12);
  }
  LivePipeline p(causal_model(), "a red house on a green hill");
  gst_bus_set_sync_handler(p.bus, change_prompt_after_chunk0, p.src, nullptr);
  p.play();
  changed = p.pull(9 + 12 + 1);  // a frame of chunk 2: chunk 1's message is out
  fail_unless(same_pixels(reference, changed, 0, 9), "chunk 0 (before the change) is the reference's");
  fail_unless(!same_pixels(reference, changed, 9, 10), "chunk 1 starts with the new prompt");
  gst_bus_set_sync_handler(p.bus, nullptr, nullptr, nullptr);
  std::vector<GstStructure*> chunks = p.messages("wan-live-chunk");
  fail_unless(chunks.size() >= 2, "%zu wan-live-chunk messages", chunks.size());
  fail_unless_equals_string(gst_structure_get_string(chunks[0], "prompt"), "a red house on a green hill");
  fail_unless_equals_string(gst_structure_get_string(chunks[1], "prompt"), "a blue boat on a grey sea");
  free_all(chunks);
}
GST_END_TEST;

GST_START_TEST(test_live_state_cycle) {
  LivePipeline p(causal_model(), "waves at sunset");
  p.play();
  const std::vector<Frame> first = p.pull(12);
  // Stopped while the next chunks are being made; it must come back promptly.
  const auto start = std::chrono::steady_clock::now();
  fail_unless(gst_element_set_state(p.pipeline, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  const double stop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fail_unless(stop_s < 10, "NULL took %.1f s", stop_s);
  p.play();
  const std::vector<Frame> again = p.pull(12);
  fail_unless_equals_uint64(again[0].offset, 0);
  fail_unless(same_pixels(first, again, 0, 12), "a new stream from the same seed starts over");
}
GST_END_TEST;

// An application may stop the pipeline from a bus sync handler of wan-live-chunk, which runs
// on the generation thread: the thread is let go, the pipeline reaches NULL and plays again.
struct StopFromHandler {
  GstElement* pipeline;
  std::atomic<int> stops{0};
  std::atomic<GstStateChangeReturn> result{GST_STATE_CHANGE_FAILURE};
};

GstBusSyncReply stop_at_chunk1(GstBus*, GstMessage* message, gpointer data) {
  auto* stop = static_cast<StopFromHandler*>(data);
  const GstStructure* s = gst_message_get_structure(message);
  guint64 chunk = 0;
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name(s, "wan-live-chunk") &&
      gst_structure_get_uint64(s, "chunk", &chunk) && chunk == 1 && stop->stops++ == 0)
    stop->result = gst_element_set_state(stop->pipeline, GST_STATE_NULL);
  return GST_BUS_PASS;
}

GST_START_TEST(test_live_stop_from_generation_thread) {
  LivePipeline p(causal_model(), "waves at sunset");
  StopFromHandler stop{p.pipeline};
  gst_bus_set_sync_handler(p.bus, stop_at_chunk1, &stop, nullptr);
  fail_unless(gst_element_set_state(p.pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  const auto begin = std::chrono::steady_clock::now();
  while (stop.stops == 0 && std::chrono::steady_clock::now() - begin < std::chrono::seconds(60)) g_usleep(20000);
  GstState state = GST_STATE_PLAYING;
  while (state != GST_STATE_NULL && std::chrono::steady_clock::now() - begin < std::chrono::seconds(60)) {
    g_usleep(20000);
    gst_element_get_state(p.pipeline, &state, nullptr, 0);
  }
  fail_unless(stop.stops >= 1 && stop.result == GST_STATE_CHANGE_SUCCESS, "the stop failed");
  fail_unless(state == GST_STATE_NULL, "the pipeline did not reach NULL");
  gst_bus_set_sync_handler(p.bus, nullptr, nullptr, nullptr);
  p.play();
  const std::vector<Frame> again = p.pull(10);
  fail_unless_equals_uint64(again[0].offset, 0);
}
GST_END_TEST;

GST_START_TEST(test_live_behind_reported) {
  // One buffer in the sink and nobody pulling: the source cannot push, so the frames it
  // pushes later are late for their times.
  LivePipeline p(causal_model(), "a red house on a green hill", "sync=false max-buffers=1");
  p.play();
  p.pull(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  const std::vector<Frame> frames = p.pull(12);
  std::vector<GstStructure*> behind = p.messages("wan-live-behind");
  fail_unless(!behind.empty(), "a stalled stream says so");
  guint64 late = 0;
  fail_unless(gst_structure_get_uint64(behind[0], "late", &late) && late > 0);
  free_all(behind);
  for (size_t i = 1; i < frames.size(); ++i) fail_unless(frames[i].pts > frames[i - 1].pts);
  // Re-anchored: the last frames are stamped near the running time, not seconds before it.
  fail_unless(frames.back().pts + 2 * GST_SECOND > frames.back().pulled_at, "the stamps caught up with the clock");
}
GST_END_TEST;

// What an application does with a LATENCY message (gst-launch-1.0 as well): the pipeline
// asks again and hands the new latency to the sinks.
GstBusSyncReply redistribute_latency(GstBus*, GstMessage* message, gpointer pipeline) {
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_LATENCY) gst_bin_recalculate_latency(GST_BIN(pipeline));
  return GST_BUS_PASS;
}

// A sink that syncs to the clock plays the frames at their times plus the latency, none late,
// while the latency drops from a chunk's play time to its measured generation time.
GST_START_TEST(test_live_synced_sink) {
  LivePipeline p(causal_model(), "waves at sunset", "sync=true", kGenerousRate);
  gst_bus_set_sync_handler(p.bus, redistribute_latency, p.pipeline, nullptr);
  p.play();
  const std::vector<Frame> frames = p.pull(9 + 12 + 3);
  gst_bus_set_sync_handler(p.bus, nullptr, nullptr, nullptr);
  for (size_t i = 0; i < frames.size(); ++i)
    fail_unless(frames[i].pulled_at >= frames[i].pts,
                "frame %zu played at %" GST_TIME_FORMAT " before its time %" GST_TIME_FORMAT, i,
                GST_TIME_ARGS(frames[i].pulled_at), GST_TIME_ARGS(frames[i].pts));
  // Paced by the clock: the last frame plays no earlier than 23 frame durations after the
  // first one's time, however late the first was pulled.
  fail_unless(frames.back().pulled_at - frames[0].pts >= 23 * frames[0].duration, "paced by the clock");
  std::vector<GstStructure*> behind = p.messages("wan-live-behind");
  guint64 frame = 0;
  if (!behind.empty()) gst_structure_get_uint64(behind[0], "frame", &frame);
  fail_unless(behind.empty(), "the tiny model keeps up at 4 fps, but frame %" G_GUINT64_FORMAT " was behind", frame);
  free_all(behind);
}
GST_END_TEST;

// The latency the pipeline configures (LATENCY event) is what the frames are stamped for, not
// the query's answer. The stream starts at a chunk's play time (3 s: 12 frames at 4 fps; the
// latency 0 this pipeline configures, its sink not syncing, is less than the source answered
// and moves nothing); a query answering the measured chunk time moves nothing either; the
// latency then swings between 5 s and 4 s three times: the frames after the first fall move
// 1 s later and no more, every frame following the one ahead of it.
GST_START_TEST(test_live_latency_event) {
  // One frame in the sink: few frames are stamped ahead of those pulled.
  LivePipeline p(causal_model(), "a red house on a green hill", "sync=false max-buffers=1", kGenerousRate);
  p.play();
  std::vector<Frame> frames = p.pull(9 + 12);
  query_latency(p.src);
  const std::vector<Frame> after_query = p.pull(3);
  for (GstClockTime latency :
       {5 * GST_SECOND, 4 * GST_SECOND, 5 * GST_SECOND, 4 * GST_SECOND, 5 * GST_SECOND, 4 * GST_SECOND})
    fail_unless(gst_element_send_event(p.pipeline, gst_event_new_latency(latency)), "LATENCY event sent");
  const std::vector<Frame> after_events = p.pull(6);
  frames.insert(frames.end(), after_query.begin(), after_query.end());
  frames.insert(frames.end(), after_events.begin(), after_events.end());
  GstClockTime moved = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    fail_unless_equals_uint64(frames[i].offset, i);
    if (i == 0) continue;
    fail_unless(frames[i].pts >= frames[i - 1].pts + frames[i - 1].duration, "frame %zu before the one ahead", i);
    moved += frames[i].pts - frames[i - 1].pts - frames[i - 1].duration;
  }
  fail_unless(moved == GST_SECOND, "the frames moved %" GST_TIME_FORMAT ", not 1 s", GST_TIME_ARGS(moved));
  std::vector<GstStructure*> behind = p.messages("wan-live-behind");
  fail_unless(behind.empty(), "no frame late at 4 fps");
  free_all(behind);
}
GST_END_TEST;

GST_START_TEST(test_live_wrong_kind) {
  GError* error = start_error(bidirectional_model(), true);
  fail_unless(error != nullptr, "live=true with a bidirectional checkpoint fails the start");
  fail_unless(g_error_matches(error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS), "%s", error->message);
  fail_unless(std::strstr(error->message, "bidirectional") != nullptr, "%s", error->message);
  g_error_free(error);

  error = start_error(causal_model(), false);
  fail_unless(error != nullptr, "a causal checkpoint without live fails the start");
  fail_unless(g_error_matches(error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS), "%s", error->message);
  fail_unless(std::strstr(error->message, "causal") != nullptr && std::strstr(error->message, "live=true"), "%s",
              error->message);
  g_error_free(error);
}
GST_END_TEST;

// Settings live mode cannot run fail the start as LIBRARY SETTINGS, each named.
GST_START_TEST(test_live_refused_settings) {
  const std::string image = std::string(g_getenv("WAN_FIXTURES")) + "/e2e-i2v-tiny/input.png";
  const RefusalCases cases = {
      {{{"image-location", image.c_str()}}, "image-location"},
      {{{"loras", "style.safetensors:1.0"}}, "loras"},
      {{{"memory-mode", "block-swap"}}, "memory-mode"},
      {{{"dtype", "fp8"}}, "fp8"},
      {{{"live-window", "4"}}, "local_attn_size"},
      {{{"timesteps", "1000,2000"}}, "step"},
  };
  expect_refused(cases);
}
GST_END_TEST;

// live-decoder=taew2_1 with random TAEW2.1 weights as preview-model: the VAE's frame counts
// (9, then 12 per chunk), sizes and stamps; without a usable preview-model the start is
// refused naming it.
GST_START_TEST(test_live_taew2_1_decoder) {
  const fs::path taew = fs::path(causal_model()).parent_path() / "taew2_1.pth";
  wan::save_pth(taew.string(), wan::test::random_taehv_weights(5));
  {
    LivePipeline p(causal_model(), "a red house on a green hill", "sync=false", kGenerousRate);
    gst_util_set_object_arg(G_OBJECT(p.src), "live-decoder", "taew2_1");
    g_object_set(p.src, "preview-model", taew.c_str(), nullptr);
    p.play();
    expect_continuous_frames(p.pull(9 + 12 + 3));
    expect_chunk_messages(p);
  }
  const RefusalCases cases = {
      {{{"live-decoder", "taew2_1"}}, "set preview-model"},
      {{{"live-decoder", "taew2_1"}, {"preview-model", "/nonexistent/taew2_1.pth"}}, "does not exist"},
  };
  expect_refused(cases);
}
GST_END_TEST;

// The stream's one-off costs and its first chunk are paid while READY -> PAUSED waits, at the
// size downstream asks for: PLAYING hands out chunk 0 made ahead (its wan-live-chunk message
// says so), and nothing is left running in PAUSED (NULL comes at once).
GST_START_TEST(test_live_first_chunk_ready_when_playing) {
  {
    LivePipeline p(causal_model(), "a red house on a green hill", "sync=false", kGenerousRate);
    fail_unless(gst_element_set_state(p.pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_NO_PREROLL, "live: no preroll");
    p.play();
    expect_continuous_frames(p.pull(9 + 12 + 1));  // into chunk 2: chunk 1's message is posted
    std::vector<GstStructure*> chunks = p.messages("wan-live-chunk");
    fail_unless(chunks.size() >= 2);
    for (size_t i = 0; i < 2; ++i) {
      guint64 index = 0;
      gboolean ahead = FALSE;
      fail_unless(gst_structure_get_uint64(chunks[i], "chunk", &index) && index == i &&
                  gst_structure_get_boolean(chunks[i], "generated-ahead", &ahead));
      fail_unless(bool(ahead) == (i == 0), "chunk %zu generated ahead: %d", i, ahead);
    }
    free_all(chunks);
  }
  LivePipeline p(causal_model(), "a red house on a green hill", "sync=false", kGenerousRate);
  fail_unless(gst_element_set_state(p.pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_NO_PREROLL, "live: no preroll");
  const auto start = std::chrono::steady_clock::now();
  fail_unless(gst_element_set_state(p.pipeline, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS, "NULL reached");
  const double null_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fail_unless(null_s < 1.0, "NULL took %.2f s", null_s);
  p.play();
  fail_unless(p.pull(1).size() == 1);
}
GST_END_TEST;

static Suite* live_suite() {
  Suite* s = suite_create("wanvideosrc-live");
  TCase* tc = tcase_create("live");
  tcase_set_timeout(tc, 600);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_live_frames_and_latency);
  tcase_add_test(tc, test_live_latency_before_generating);
  tcase_add_test(tc, test_live_prompt_change_next_chunk);
  tcase_add_test(tc, test_live_state_cycle);
  tcase_add_test(tc, test_live_stop_from_generation_thread);
  tcase_add_test(tc, test_live_behind_reported);
  tcase_add_test(tc, test_live_synced_sink);
  tcase_add_test(tc, test_live_latency_event);
  tcase_add_test(tc, test_live_wrong_kind);
  tcase_add_test(tc, test_live_refused_settings);
  tcase_add_test(tc, test_live_taew2_1_decoder);
  tcase_add_test(tc, test_live_first_chunk_ready_when_playing);
  return s;
}

GST_CHECK_MAIN(live);
