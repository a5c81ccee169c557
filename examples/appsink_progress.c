/* Embedding wanvideosrc in an application: frames arrive in an appsink,
 * progress comes from the bus (model loading as PROGRESS messages, generation
 * as `wan-progress` element messages).
 *
 *   appsink_progress MODEL_PATH IMAGE "PROMPT" [OUTPUT_PREFIX]
 *
 * With OUTPUT_PREFIX every frame is written as OUTPUT_PREFIX-NNNN.ppm.
 * Uninstalled: meson devenv -C build examples/appsink_progress ...
 */
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>

typedef struct {
  GMainLoop* loop;
  const char* output_prefix;
  guint frames;
  int status;
} App;

static void write_ppm(const char* prefix, guint index, GstSample* sample) {
  GstVideoInfo info;
  GstVideoFrame frame;
  gchar* path;
  FILE* file;
  int y;

  if (!gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) ||
      !gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ))
    return;
  path = g_strdup_printf("%s-%04u.ppm", prefix, index);
  file = fopen(path, "wb");
  if (file) {
    fprintf(file, "P6\n%d %d\n255\n", info.width, info.height);
    for (y = 0; y < info.height; y++)
      fwrite((guint8*)GST_VIDEO_FRAME_PLANE_DATA(&frame, 0) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0), 3,
             info.width, file);
    fclose(file);
  }
  g_free(path);
  gst_video_frame_unmap(&frame);
}

/* Called in the streaming thread for every frame. */
static GstFlowReturn on_new_sample(GstAppSink* sink, gpointer user_data) {
  App* app = user_data;
  GstSample* sample = gst_app_sink_pull_sample(sink);
  GstBuffer* buffer = gst_sample_get_buffer(sample);

  g_print("\nframe %u at %" GST_TIME_FORMAT "\n", app->frames, GST_TIME_ARGS(GST_BUFFER_PTS(buffer)));
  if (app->output_prefix) write_ppm(app->output_prefix, app->frames, sample);
  app->frames++;
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

static void print_progress(const GstStructure* s) {
  guint clip = 0;
  gint step = 0, total = 0;
  gdouble percent = 0;
  guint64 elapsed = 0;

  gst_structure_get(s, "clip", G_TYPE_UINT, &clip, "step", G_TYPE_INT, &step, "total-steps", G_TYPE_INT, &total,
                    "percent", G_TYPE_DOUBLE, &percent, "elapsed", G_TYPE_UINT64, &elapsed, NULL);
  g_print("\rclip %u %-8s %3d/%-3d %5.1f%% %6.1f s", clip, gst_structure_get_string(s, "phase"), step, total, percent,
          (double)elapsed / GST_SECOND);
}

static gboolean on_bus_message(GstBus* bus, GstMessage* message, gpointer user_data) {
  (void)bus;
  App* app = user_data;

  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_PROGRESS: {
      GstProgressType type;
      gchar *code = NULL, *text = NULL;
      gst_message_parse_progress(message, &type, &code, &text);
      g_print("[%s] %s\n", code, text);
      g_free(code);
      g_free(text);
      break;
    }
    case GST_MESSAGE_ELEMENT: {
      const GstStructure* s = gst_message_get_structure(message);
      if (gst_structure_has_name(s, "wan-progress"))
        print_progress(s);
      else if (gst_structure_has_name(s, "wan-clip")) {
        gint64 seed = 0;
        gst_structure_get_int64(s, "seed", &seed);
        g_print("\nclip with seed %" G_GINT64_FORMAT "\n", seed);
      }
      break;
    }
    case GST_MESSAGE_ERROR: {
      GError* error = NULL;
      gchar* debug = NULL;
      gst_message_parse_error(message, &error, &debug);
      g_printerr("\nerror: %s\n%s\n", error->message, debug ? debug : "");
      g_clear_error(&error);
      g_free(debug);
      app->status = 1;
      g_main_loop_quit(app->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      g_print("\ndone: %u frames\n", app->frames);
      g_main_loop_quit(app->loop);
      break;
    default: break;
  }
  return TRUE;
}

int main(int argc, char** argv) {
  App app = {NULL, NULL, 0, 0};
  GstElement *pipeline, *src, *sink;
  GstAppSinkCallbacks callbacks = {0};
  callbacks.new_sample = on_new_sample;
  GstBus* bus;
  GError* error = NULL;

  gst_init(&argc, &argv);
  if (argc < 4) {
    g_printerr("usage: %s MODEL_PATH IMAGE \"PROMPT\" [OUTPUT_PREFIX]\n", argv[0]);
    return 2;
  }
  app.output_prefix = argc > 4 ? argv[4] : NULL;

  pipeline = gst_parse_launch(
      "wanvideosrc name=src ! videoconvert ! "
      "video/x-raw,format=RGB ! appsink name=sink sync=false",
      &error);
  if (!pipeline) {
    g_printerr("cannot build the pipeline: %s\n", error->message);
    return 1;
  }
  src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  g_object_set(src, "model-path", argv[1], "image-location", argv[2], "prompt", argv[3], NULL);
  gst_object_unref(src);
  sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, &app, NULL);
  gst_object_unref(sink);

  app.loop = g_main_loop_new(NULL, FALSE);
  bus = gst_element_get_bus(pipeline);
  gst_bus_add_watch(bus, on_bus_message, &app);

  /* Loading happens in this call; a failure is already on the bus. */
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    while (g_main_context_iteration(NULL, FALSE))
      ;
    app.status = 1;
  } else {
    g_main_loop_run(app.loop);
  }

  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_bus_remove_watch(bus);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  g_main_loop_unref(app.loop);
  return app.status;
}
