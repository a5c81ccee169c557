/**
 * SECTION:element-wanvideosrc
 * @title: wanvideosrc
 *
 * Generates video with the Wan2.1 diffusion models: image-to-video (set
 * #GstWanVideoSrc:image-location), first-last-frame-to-video (also set
 * #GstWanVideoSrc:last-image-location) or text-to-video (no image), depending
 * on the checkpoint in #GstWanVideoSrc:model-path.
 *
 * The models load in the READY to PAUSED state change, announced by
 * %GST_MESSAGE_PROGRESS messages (code "load": START, CONTINUE per model,
 * COMPLETE, or ERROR after the error message). A missing or broken model or
 * image, or settings the models cannot run, make that state change fail.
 * Generation then runs on its own thread; frames are pushed as the VAE decodes
 * them, timestamped at the negotiated frame rate (16/1 unless downstream asks
 * for another), so a non-live pipeline prerolls as soon as the first frame is
 * out.
 *
 * The output size follows the image's aspect ratio within
 * #GstWanVideoSrc:max-area (the official pipeline's rounding), unless
 * downstream caps fix width and height (multiples of 16).
 *
 * #GstWanVideoSrc:attention=fp8 runs the DiT blocks' self-attention in 8 bits (cuDNN's fused
 * fp8 SDPA, Q, K and V in e4m3) with any #GstWanVideoSrc:dtype: opt-in and lossy, for Hopper
 * and newer GPUs in a build with cuDNN's frontend (-Dcuda=enabled); elsewhere the start fails
 * with the reason. Its measured speed and error are in tests/bench/RESULTS.md.
 *
 * Each clip starts with a tag event (title: the prompt; comment: model, seed,
 * steps, guidance scale, LoRAs; encoder: gst-wan) and a `wan-clip` element message:
 *
 * * `clip` (#guint): the clip's index, from 0
 * * `seed` (#gint64): the seed the clip is generated with (also in
 *   #GstWanVideoSrc:last-seed)
 * * `prompt` (#gchararray): the prompt of the clip
 *
 * While a clip is generated, every step of every phase posts a `wan-progress`
 * element message:
 *
 * * `clip` (#guint): the clip's index, from 0
 * * `phase` (#gchararray): "encode" (prompt and image encoders), "denoise"
 *   (the diffusion steps) or "decode" (the VAE, one step per latent frame)
 * * `step` (#gint): the step within the phase (0 when the phase begins)
 * * `total-steps` (#gint): the number of steps of the phase
 * * `percent` (#gdouble): 100 * step / total-steps
 * * `elapsed` (#guint64): nanoseconds since the clip started
 * * `forwards`, `forwards-reused` (#gint, denoise phase only): the DiT forwards of the clip so
 *   far (one per step and guidance branch: two with guidance, one at #GstWanVideoSrc:guidance-scale
 *   1), and how many of them reused cached block residuals (#GstWanVideoSrc:cache; EasyCache:
 *   cached predictions)
 *
 * When a clip's last frame is decoded, a `wan-clip-done` element message:
 *
 * * `clip` (#guint), `seed` (#gint64), `steps` (#gint): as run
 * * `forwards`, `forwards-reused` (#gint): the clip's DiT forwards, and how many reused cached
 *   block residuals (#GstWanVideoSrc:cache; 0 without it)
 *
 * ## The preview pad
 *
 * With #GstWanVideoSrc:preview (the default), the element adds a `preview` source pad (a
 * sometimes pad) when it starts streaming, before the first clip, and removes it when it
 * stops. While that pad is linked,
 * every denoising step renders the clip as the step predicts it: the clean latent
 * x0 = x_t - sigma_t * v, each latent frame mapped to RGB by a fixed linear map of its 16
 * channels (ComfyUI's Wan2.1 latent-to-RGB factors). The pad carries one picture per step:
 * the clip's latent frames in a grid of ceil(sqrt(F)) columns, left to right then top to
 * bottom (e.g. 21 frames of 104x60 at 480p: 5x5 cells, 520x300), or 8 times that size with
 * #GstWanVideoSrc:preview-size=full (each latent frame then decoded by TAEW2.1 when
 * #GstWanVideoSrc:preview-model names its weights, else its pixels repeated). Caps: video/x-raw, format=RGB,
 * framerate=0/1 (one picture per step, not a frame rate). A buffer's OFFSET is its step (1-based); its PTS and DURATION
 * are the running time of the clip it previews in the main stream, so all the steps of a clip share them: show the pad
 * with `sync=false`. An unlinked pad costs nothing (nothing is computed); a linked one costs a small matrix product on
 * the device and one copy of the picture to the host per step. Pushing runs on the pad's own thread: when it falls
 * behind (a slow sink, or one prerolling: a non-live pipeline reaches PLAYING only once the main branch has its first
 * frame, so give the main branch's sink `async=false` to watch the first clip form), the oldest waiting previews are
 * dropped and generation never waits. After the last clip the pad sends EOS. Every rendered step posts a `wan-preview`
 * element message:
 *
 * * `clip` (#guint), `step` (#gint, from 1), `total-steps` (#gint)
 * * `frames` (#gint): the latent frames in the picture
 * * `width`, `height` (#gint): the picture's size
 *
 * With #GstWanVideoSrc:clips greater than 1, or 0 for an endless stream, each
 * clip after the first starts from the last frame of the one before (for
 * image-conditioned checkpoints; that repeated frame is not output again) and
 * its timestamps continue without a gap. #GstWanVideoSrc:prompt,
 * #GstWanVideoSrc:seed, #GstWanVideoSrc:steps and the other sampling settings
 * may be changed while PLAYING; the change applies from the next clip.
 *
 * ## Long videos from keyframes
 *
 * With a first-last-frame-to-video checkpoint, #GstWanVideoSrc:keyframes (image paths,
 * comma-separated) makes one video through N keyframes: N - 1 segments of
 * #GstWanVideoSrc:num-frames frames, segment k from keyframe k to keyframe k + 1 (the first
 * segment's size for all), each shared keyframe output once (every segment after the first
 * leaves out its first frame), timestamps and offsets continuing without a gap. Segment k
 * uses seed + k and #GstWanVideoSrc:prompts[k] when given, else #GstWanVideoSrc:prompt. Each
 * segment is a clip in the messages and tags above (`clip` = segment). With several devices
 * (#GstWanVideoSrc:device=cuda:0,cuda:1; a device may repeat) each has its own pipeline and
 * takes the next segment when it is free; frames go out strictly in order, a later segment
 * waiting in host memory until those before it are out. A device starts a segment only while
 * it is fewer than (devices) segments ahead of the one being pushed, so at most
 * (devices - 1) x num-frames frames of later segments wait, plus those of the segment being
 * pushed that a slow downstream has not taken yet: at most devices x num-frames (at 720p and
 * 81 frames, 224 MB per segment).
 * With several devices, `wan-clip` messages come as segments start, not always in order.
 *
 * ## Live mode
 *
 * With #GstWanVideoSrc:live, the element streams without end from a causal, chunk-wise
 * text-to-video checkpoint (Self-Forcing's `self_forcing_dmd.pt` as model-path, with the
 * official `Wan2.1_VAE.pth`, umT5 and tokenizer beside it) and is a live source: it
 * produces nothing in PAUSED and starts generating in PLAYING. Each chunk of 3 latent frames is
 * denoised in 4 steps (Self-Forcing's schedule; #GstWanVideoSrc:timesteps and
 * #GstWanVideoSrc:shift override it) attending to the frames before it, and its frames are
 * pushed as the VAE decodes them: 9 for the first chunk, 12 for every later one. A frame's PTS
 * is the running time on the pipeline clock: the first frame's the moment it is ready, the
 * frames after it following at the negotiated frame rate. While a chunk's frames play the
 * next chunk is generated (one chunk of frames is queued ahead). #GstWanVideoSrc:prompt may
 * change while PLAYING; the next chunk to start is made with it (the frames before stay in the
 * attention cache, so the scene changes rather than cuts). #GstWanVideoSrc:seed (-1: a random
 * one, shown in #GstWanVideoSrc:last-seed) makes the stream reproducible.
 *
 * #GstWanVideoSrc:live-decoder taew2_1 decodes the chunks with TAEW2.1 (the
 * #GstWanVideoSrc:preview-model file, which must then be set) instead of the VAE: the same
 * frame counts, a little softer, at a fraction of the VAE's time; the VAE is not loaded then.
 * While READY -> PAUSED waits (as for the models' load) the element encodes the prompt,
 * generates and decodes two throwaway chunks at the size downstream will negotiate (the
 * device's one-off costs; the stream is reset after them, its frames those it would have made
 * without) and then the video's first chunk, whose frames PLAYING hands out at once. A size
 * negotiated otherwise is prepared again in the background, in PAUSED.
 *
 * Each chunk attends to a rolling window of #GstWanVideoSrc:live-window latent frames (21,
 * the context Self-Forcing is trained on), of which the first #GstWanVideoSrc:live-sink (3,
 * the first chunk) never leave, as attention sinks: time and memory per chunk stay flat
 * however long the stream runs. live-window -1 attends to every frame so far (growing without
 * end, for short streams).
 *
 * The LATENCY query answers live with the minimum latency one chunk's generation time (the
 * slowest of the last 8 chunks after the first, whose warm-up does not count, nor a new
 * prompt's encoding; before one is measured, a chunk's play time, what a
 * stream that keeps up takes at most) and the maximum what the queue holds (two chunks of
 * frames); when the measured time moves by a tenth the element posts a LATENCY message.
 * The frames are stamped for the latency the pipeline configures (the LATENCY event), never
 * less than the minimum answered (which also holds until one comes, and where no sink syncs
 * to the clock, for which the pipeline configures 0). When it drops, the frames after it are
 * stamped later, so that none plays before the one ahead of it, by at most the highest
 * latency since the stream started (or last caught up with the clock) minus the new one. A
 * frame ready later than its time plus that latency (generation slower than real time, or a
 * stalled downstream) is stamped with the running time it is ready at instead, the frames
 * after it following on, and the element posts a QoS message (jitter: how late) and a
 * `wan-live-behind` element message:
 *
 * * `frame` (#guint64): the frame's offset
 * * `late` (#guint64): nanoseconds past its time plus the latency
 * * `latency` (#guint64): the latency the frames are stamped for
 *
 * After every chunk a `wan-live-chunk` element message (posted from the generation thread,
 * after the chunk's frames are queued and before the next chunk reads the prompt):
 *
 * * `chunk` (#guint64): the chunk's index, from 0
 * * `first-frame` (#guint64), `frames` (#gint): its frames' offsets
 * * `prompt` (#gchararray): the prompt it was made with
 * * `generate-time`, `decode-time` (#guint64): nanoseconds in the DiT and in the VAE
 * * `encode-time` (#guint64): nanoseconds in umT5 for a new prompt (0 when it did not change)
 * * `generated-ahead` (#gboolean): made before PLAYING (chunk 0, see above)
 *
 * The stream's first frames and those of a new prompt carry a tag event as clips do. A state
 * change to READY or NULL cancels the chunk in flight between two DiT blocks and frees the
 * models. #GstWanVideoSrc:num-frames, #GstWanVideoSrc:clips, #GstWanVideoSrc:steps,
 * #GstWanVideoSrc:guidance-scale (always 1), #GstWanVideoSrc:solver, the step cache and the
 * preview pad do not apply; image-location, last-image-location, keyframes, loras, several
 * devices and the memory modes other than resident and text-encoder-cpu are refused. The
 * size follows #GstWanVideoSrc:max-area (832x480 by default) unless downstream caps fix it.
 *
 * ## Errors
 *
 * Every error is a #GST_MESSAGE_ERROR with a one-line message naming the problem (the file, the
 * property and its value; never a libtorch backtrace) and, where there is one, detail in the
 * debug string. A bad input found when starting fails the READY to PAUSED state change:
 *
 * * %GST_RESOURCE_ERROR_NOT_FOUND: #GstWanVideoSrc:model-path unset or not existing; an
 *   image file that does not exist
 * * %GST_RESOURCE_ERROR_OPEN_READ: a model that cannot be loaded from an existing path (a
 *   checkpoint folder without its DiT, VAE or encoders, a truncated or corrupt file, weights
 *   of the wrong shape); a LoRA file that cannot be read or does not fit the model (keys that
 *   reach no parameter); an image location that is not a regular file (a FIFO, a device)
 * * %GST_STREAM_ERROR_DECODE: an image that cannot be decoded, or larger than 16384x16384
 * * %GST_LIBRARY_ERROR_SETTINGS: a property value the models cannot run: #GstWanVideoSrc:num-frames
 *   not 4n+1 or above the limit, #GstWanVideoSrc:max-area, #GstWanVideoSrc:steps,
 *   #GstWanVideoSrc:guidance-scale, #GstWanVideoSrc:shift or a step cache window out of range
 *   (these properties accept any number so that the error names them, instead of GLib keeping
 *   the old value with a warning), a #GstWanVideoSrc:timesteps list that is malformed or not for
 *   the #GstWanVideoSrc:solver, a malformed #GstWanVideoSrc:loras list, an unusable device,
 *   #GstWanVideoSrc:dtype fp8 or #GstWanVideoSrc:attention fp8 where it cannot run, images that
 *   do not suit the checkpoint's task;
 *   #GstWanVideoSrc:keyframes with fewer than two images, a #GstWanVideoSrc:prompts count that is
 *   not one per segment, keyframes with a t2v or i2v checkpoint or beside image-location, several
 *   devices without keyframes (an unreadable keyframe fails as an image does, naming which);
 *   #GstWanVideoSrc:live with a bidirectional checkpoint, or a causal (Self-Forcing) checkpoint
 *   without it (the message names the kind found); in live mode the settings it refuses
 * * %GST_STREAM_ERROR_FORMAT: an output size downstream asks for that the model cannot make
 * * %GST_STREAM_ERROR_FAILED: generation failed while streaming (including a sampling setting
 *   changed while playing that the next clip rejects, or non-finite values in a step)
 * * %GST_LIBRARY_ERROR_FAILED: an internal error caught at the boundary of a GStreamer entry
 *   point (no C++ exception crosses into GStreamer); %GST_RESOURCE_ERROR_NO_SPACE_LEFT when it
 *   was running out of memory; %GST_LIBRARY_ERROR_INIT when generation cannot be started
 *
 * #GstWanVideoSrc:clips accepts every value: up to 4294967295 clips, or 0 for no end.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 wanvideosrc model-path=Wan2.1-I2V-14B-480P image-location=cat.jpg \
 *     prompt="A cat walks along the beach" ! videoconvert ! x264enc ! mp4mux ! filesink location=cat.mp4
 * ]| Image to video, 81 frames at 16 fps, saved as MP4.
 * |[
 * gst-launch-1.0 wanvideosrc model-path=Wan2.1-T2V-1.3B prompt="Waves at sunset" num-frames=33 steps=30 \
 *     ! video/x-raw,width=832,height=480,framerate=24/1 ! videoconvert ! autovideosink
 * ]| Text to video at an explicit size and frame rate, shown on screen.
 * |[
 * gst-launch-1.0 wanvideosrc model-path=Wan2.1-I2V-14B-480P image-location=start.png clips=0 \
 *     prompt="A drone flies over endless hills" ! videoconvert ! x264enc tune=zerolatency \
 *     ! rtph264pay ! udpsink host=127.0.0.1 port=5000
 * ]| An endless stream of continued clips, sent as RTP.
 * |[
 * gst-launch-1.0 wanvideosrc model-path=Wan2.1-I2V-14B-480P image-location=cat.jpg prompt="A cat walks" \
 *     loras=Wan21_I2V_14B_lightx2v_cam2v_distill_lora_rank64.safetensors:1.0 solver=distill \
 *     ! videoconvert ! x264enc ! mp4mux ! filesink location=cat4.mp4
 * ]| Four steps without guidance (one forward per step) with a step-distillation LoRA.
 * |[
 * gst-launch-1.0 wanvideosrc model-path=wan2.1_i2v_480p_14B_distill_fp8_e4m3_scaled.safetensors ... solver=distill
 * ]| The same with a distilled single-file DiT (LightX2V's or ComfyUI's, scaled-fp8 layout
 * included) as model-path: the VAE, text and image encoders are looked for beside it, under
 * their official names.
 * |[
 * gst-launch-1.0 wanvideosrc name=wan model-path=Wan2.1-I2V-14B-480P image-location=cat.jpg prompt="A cat" \
 *     ! videoconvert ! x264enc ! mp4mux ! filesink location=cat.mp4 async=false \
 *     wan.preview ! videoconvert ! autovideosink sync=false
 * ]| The clip saved as MP4 while each denoising step's estimate of it is shown on screen.
 * |[
 * gst-launch-1.0 wanvideosrc model-path=Wan2.1-FLF2V-14B-720P keyframes=a.png,b.png,c.png device=cuda:0,cuda:1 \
 *     'prompts="<\"The cat wakes up\", \"The cat jumps off the sofa\">"' ! videoconvert ! x264enc ! mp4mux \
 *     ! filesink location=long.mp4
 * ]| A video through three keyframes, its two segments made on two GPUs at once.
 * |[
 * gst-launch-1.0 wanvideosrc live=true model-path=Self-Forcing/self_forcing_dmd.pt device=cuda:0 \
 *     prompt="A drone flies over endless hills" ! videoconvert ! x264enc tune=zerolatency \
 *     ! rtph264pay config-interval=1 ! udpsink host=127.0.0.1 port=5000
 * ]| An endless live stream from a causal checkpoint, sent as RTP; set prompt while it plays.
 */
#include "gst/gstwanvideosrc.h"

#include <gst/video/video.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "gst/clip_worker.h"
#include "gst/element_error.h"
#include "gst/frame_queue.h"
#include "gst/image_loader.h"
#include "gst/keyframe_input.h"
#include "gst/live_session.h"
#include "gst/preview_slot.h"
#include "gst/wanenums.h"
#include "models/common/error.h"
#include "models/cuda/fp8_attention.h"
#include "models/cuda/fp8_ops.h"
#include "models/cuda/int8_attention.h"
#include "pipeline/clip_continuation.h"
#include "pipeline/device_name.h"
#include "pipeline/flow_step_distill.h"
#include "pipeline/keyframe_segments.h"
#include "pipeline/model_family.h"
#include "pipeline/names.h"
#include "pipeline/video_geometry.h"

GST_DEBUG_CATEGORY_STATIC(gst_wan_video_src_debug);
#define GST_CAT_DEFAULT gst_wan_video_src_debug

namespace {

using wan::gst::ClipInfo;
using wan::gst::ClipWorker;
using wan::gst::ElementError;
using wan::gst::FrameQueue;
using wan::gst::PreviewItem;
using wan::gst::PreviewSlot;
using wan::gst::WorkerItem;

// The official CLI's defaults (generate.py and wan/configs), through pipeline/model_family.h.
const wan::SamplingDefaults kFamilyDefaults{};
const int kDefaultNumFrames = kFamilyDefaults.num_frames;
const int kDefaultFpsN = kFamilyDefaults.fps;
constexpr gint64 kDefaultMaxArea = 832 * 480;
// Property values meaning "the task's default" (pipeline/model_family.h decides).
constexpr int kTaskDefaultSteps = 0;
constexpr double kTaskDefaultGuidance = -1.0;
constexpr double kTaskDefaultShift = 0.0;

// Frames waiting for downstream before the next clip is held back.
constexpr size_t kQueuedFrames = 4;
// Previews waiting for the preview pad; older ones are dropped.
constexpr size_t kQueuedPreviews = 2;

enum {
  PROP_0,
  PROP_MODEL_PATH,
  PROP_IMAGE_LOCATION,
  PROP_LAST_IMAGE_LOCATION,
  PROP_PROMPT,
  PROP_NEGATIVE_PROMPT,
  PROP_NUM_FRAMES,
  PROP_STEPS,
  PROP_GUIDANCE_SCALE,
  PROP_SHIFT,
  PROP_SOLVER,
  PROP_SEED,
  PROP_LAST_SEED,
  PROP_MAX_AREA,
  PROP_DEVICE,
  PROP_DTYPE,
  PROP_ATTENTION,
  PROP_MEMORY_MODE,
  PROP_TEXT_ENCODER_DEVICE,
  PROP_CLIPS,
  PROP_TIMESTEPS,
  PROP_LORAS,
  PROP_LORA_MODE,
  PROP_CACHE,
  PROP_CACHE_THRESHOLD,
  PROP_CACHE_TEACACHE_RET_STEPS,
  PROP_CACHE_MAX_SKIPS,
  PROP_CACHE_RETENTION_RATIO,
  PROP_CACHE_WARMUP_STEPS,
  PROP_PREVIEW,
  PROP_PREVIEW_SIZE,
  PROP_PREVIEW_MODEL,
  PROP_KEYFRAMES,
  PROP_PROMPTS,
  PROP_LIVE,
  PROP_LIVE_WINDOW,
  PROP_LIVE_SINK,
  PROP_LIVE_DECODER,
};

// The property values (GST_OBJECT_LOCK).
struct Settings {
  std::string model_path;
  std::string image_location;
  std::string last_image_location;
  std::string prompt;
  std::string negative_prompt;
  int num_frames = kDefaultNumFrames;
  int steps = kTaskDefaultSteps;
  double guidance_scale = kTaskDefaultGuidance;
  double shift = kTaskDefaultShift;
  GstWanSolver solver = GST_WAN_SOLVER_UNIPC;
  gint64 seed = -1;
  gint64 max_area = kDefaultMaxArea;
  std::string device;
  GstWanDtype dtype = GST_WAN_DTYPE_AUTO;
  GstWanAttention attention = GST_WAN_ATTENTION_EXACT;
  GstWanMemoryMode memory_mode = GST_WAN_MEMORY_MODE_RESIDENT;
  std::string text_encoder_device;
  guint clips = 1;
  std::string timesteps;  // "1000,750,500,250"; empty = the solver's default
  std::string loras;      // "path:strength,..."
  GstWanLoraMode lora_mode = GST_WAN_LORA_MODE_MERGE;
  GstWanCache cache = GST_WAN_CACHE_NONE;
  double cache_threshold = 0;  // 0 = the method's default
  gboolean cache_teacache_ret_steps = TRUE;
  int cache_max_skips = 0;            // 0 = the method's default
  double cache_retention_ratio = -1;  // -1 = the method's default
  int cache_warmup_steps = -1;        // -1 = the method's default
  gboolean preview = TRUE;
  GstWanPreviewSize preview_size = GST_WAN_PREVIEW_SIZE_LATENT;
  std::string preview_model;         // TAEW2.1 weights for full-size previews; empty = the linear map
  std::string keyframes;             // "a.png,b.png,..."; empty = no video from keyframes
  std::vector<std::string> prompts;  // with keyframes: one per segment, or none
  gboolean live = FALSE;             // a causal checkpoint streamed chunk by chunk
  int live_window = int(wan::live_causal_settings().local_attn_size);
  int live_sink = int(wan::live_causal_settings().sink_size);
  GstWanLiveDecoder live_decoder = GST_WAN_LIVE_DECODER_VAE;
};

// What lives from start() to stop().
struct Session {
  std::shared_ptr<wan::Pipeline> pipeline;
  std::string model_name;  // for the tags
  wan::Request base;       // images and size; the per-clip fields are read anew each clip
  int preferred_width = 0, preferred_height = 0;
  GstVideoInfo info;  // as negotiated
  std::unique_ptr<ClipWorker> worker;
  std::shared_ptr<const wan::PreviewDecoder> preview_decoder;  // preview-model, loaded at start
  guint64 frames_out = 0;
  // A video from keyframes: its segments, and one pipeline per device (empty otherwise).
  wan::KeyframeSegments keyframes;
  std::vector<std::shared_ptr<wan::Pipeline>> segment_pipelines;
  // Live mode: the stream and its generation thread (no pipeline, worker or preview).
  std::unique_ptr<wan::gst::LiveSession> live;
};

struct State {
  Settings settings;
  gint64 last_seed = -1;  // GST_OBJECT_LOCK
  bool started = false;   // GST_OBJECT_LOCK
  std::optional<Session> session;
  // A fresh queue per start (GST_OBJECT_LOCK): a generation thread let go by a stop from
  // itself keeps its closed one and can never feed the next run.
  std::shared_ptr<FrameQueue> queue = std::make_shared<FrameQueue>(kQueuedFrames);
  // The preview pad and what feeds it, from start() to stop() (GST_OBJECT_LOCK).
  GstPad* preview_pad = nullptr;
  std::shared_ptr<PreviewSlot> preview_slot;
  // For tests: the entry point that throws on entry (WAN_GST_FAIL_IN, read when the element is made).
  std::string fail_in;
};

}  // namespace

struct _GstWanVideoSrc {
  GstPushSrc parent;
  State* state;
};

#define gst_wan_video_src_parent_class parent_class
G_DEFINE_TYPE(GstWanVideoSrc, gst_wan_video_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE(wanvideosrc, "wanvideosrc", GST_RANK_NONE, GST_TYPE_WAN_VIDEO_SRC);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-raw, format = (string) { RGB, RGBA, BGRx }, "
                    "width = (int) [ 16, 8192 ], height = (int) [ 16, 8192 ], "
                    "framerate = (fraction) [ 1/1, 1000/1 ], pixel-aspect-ratio = (fraction) 1/1"));

static GstStaticPadTemplate preview_template =
    GST_STATIC_PAD_TEMPLATE("preview", GST_PAD_SRC, GST_PAD_SOMETIMES,
                            GST_STATIC_CAPS("video/x-raw, format = (string) RGB, width = (int) [ 1, 2147483647 ], "
                                            "height = (int) [ 1, 2147483647 ], framerate = (fraction) 0/1, "
                                            "pixel-aspect-ratio = (fraction) 1/1"));

namespace {

#define POST_ERROR(self, error) (error).post(GST_ELEMENT(self), __FILE__, GST_FUNCTION, __LINE__)

// GST_OBJECT_LOCK for a scope, released when an exception leaves it.
struct ObjectLock {
  GstObject* object;
  explicit ObjectLock(gpointer o) : object(GST_OBJECT(o)) { GST_OBJECT_LOCK(object); }
  ~ObjectLock() { GST_OBJECT_UNLOCK(object); }
  ObjectLock(const ObjectLock&) = delete;
  ObjectLock& operator=(const ObjectLock&) = delete;
};

// Runs f on the live session, if there is one, under the object lock: a stop on another thread
// swaps the session out under it. Returns whether there was one.
template <typename F>
bool with_live_session(GstWanVideoSrc* self, F&& f) {
  ObjectLock lock(self);
  if (!self->state->session || !self->state->session->live) return false;
  f(*self->state->session->live);
  return true;
}

// Runs the body of an entry point GLib or GStreamer calls (a vfunc, a pad function, a task):
// no C++ exception may unwind into C code, which is not exception-safe (locks stay held,
// state is left half-changed). An ElementError is posted as it is; any other exception
// becomes a GST_LIBRARY_ERROR_FAILED naming the entry point, in one line. Returns whether
// the body completed; the caller then returns its failure value (FALSE, GST_FLOW_ERROR).
template <typename F>
bool guarded(GstWanVideoSrc* self, const char* where, F&& body) noexcept {
  try {
    if (self->state && self->state->fail_in == where)
      throw std::runtime_error(std::string("failure injected by WAN_GST_FAIL_IN=") + where);
    body();
    return true;
  } catch (const ElementError& e) {
    POST_ERROR(self, e);
  } catch (const std::bad_alloc&) {
    POST_ERROR(self, ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT,
                                  std::string("Out of memory in wanvideosrc's ") + where + "."));
  } catch (const std::exception& e) {
    POST_ERROR(self,
               ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED,
                            std::string("Internal error in wanvideosrc's ") + where + ": " + wan::one_line_message(e)));
  } catch (...) {
    POST_ERROR(self, ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED,
                                  std::string("Internal error in wanvideosrc's ") + where + ": unknown exception"));
  }
  return false;
}

// libtorch asked at class and instance init, where nothing may throw.
std::string safe_default_device() {
  try {
    return wan::default_device_name();
  } catch (...) {
    return "cpu";
  }
}

void post_progress(GstWanVideoSrc* self, GstProgressType type, const std::string& text) {
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_progress(GST_OBJECT(self), type, "load", text.c_str()));
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

wan::Solver to_solver(GstWanSolver solver) {
  switch (solver) {
    case GST_WAN_SOLVER_DPMPP: return wan::Solver::DPMpp;
    case GST_WAN_SOLVER_EULER: return wan::Solver::Euler;
    case GST_WAN_SOLVER_DISTILL: return wan::Solver::Distill;
    case GST_WAN_SOLVER_RENOISE: return wan::Solver::Renoise;
    case GST_WAN_SOLVER_UNIPC: break;
  }
  return wan::Solver::UniPC;
}

wan::MemoryMode to_memory_mode(GstWanMemoryMode mode) {
  switch (mode) {
    case GST_WAN_MEMORY_MODE_SEQUENTIAL: return wan::MemoryMode::Sequential;
    case GST_WAN_MEMORY_MODE_TEXT_ENCODER_CPU: return wan::MemoryMode::TextEncoderCpu;
    case GST_WAN_MEMORY_MODE_BLOCK_SWAP: return wan::MemoryMode::BlockSwap;
    case GST_WAN_MEMORY_MODE_RESIDENT: break;
  }
  return wan::MemoryMode::Resident;
}

// An enum property's value as users write it.
std::string enum_nick(GType type, gint value) {
  GEnumClass* klass = G_ENUM_CLASS(g_type_class_ref(type));
  const std::string nick = g_enum_get_value(klass, value)->value_nick;
  g_type_class_unref(klass);
  return nick;
}

std::string dtype_name(GstWanDtype dtype) { return enum_nick(GST_TYPE_WAN_DTYPE, dtype); }

Settings copy_settings(GstWanVideoSrc* self) {
  GST_OBJECT_LOCK(self);
  Settings settings = self->state->settings;
  GST_OBJECT_UNLOCK(self);
  return settings;
}

// The sampling settings the properties set; the others stay unset (the task's default).
void set_sampling(wan::Request& request, const Settings& settings) {
  request.steps.reset(), request.guidance_scale.reset(), request.shift.reset();
  if (settings.steps != kTaskDefaultSteps) request.steps = settings.steps;
  if (settings.guidance_scale != kTaskDefaultGuidance) request.guidance_scale = settings.guidance_scale;
  if (settings.shift != kTaskDefaultShift) request.shift = settings.shift;
}

// The step cache's settings; the "method's default" values stay unset, any other value goes
// to Request::validate (at start, and per clip when changed while playing).
void set_cache(wan::Request& request, const Settings& settings) {
  wan::StepCacheSettings& c = request.cache;
  c = {};
  c.method = settings.cache == GST_WAN_CACHE_TEACACHE    ? wan::CacheMethod::TeaCache
             : settings.cache == GST_WAN_CACHE_MAGCACHE  ? wan::CacheMethod::MagCache
             : settings.cache == GST_WAN_CACHE_EASYCACHE ? wan::CacheMethod::EasyCache
                                                         : wan::CacheMethod::None;
  if (settings.cache_threshold != 0) c.threshold = settings.cache_threshold;
  c.teacache_ret_steps = settings.cache_teacache_ret_steps;
  if (settings.cache_max_skips != 0) c.max_skips = settings.cache_max_skips;
  if (settings.cache_retention_ratio != -1) c.retention_ratio = settings.cache_retention_ratio;
  if (settings.cache_warmup_steps != -1) c.warmup_steps = settings.cache_warmup_steps;
}

// The per-clip fields of a request from the current properties. A set seed
// gives clip k the seed + k, so a continued run is reproducible and its clips
// still differ.
wan::Request request_for_clip(GstWanVideoSrc* self, int clip) {
  const Settings settings = copy_settings(self);
  wan::Request request = self->state->session->base;
  request.prompt = settings.prompt;
  request.negative_prompt = settings.negative_prompt;
  set_sampling(request, settings);
  request.solver = to_solver(settings.solver);
  request.timesteps = wan::parse_distill_steps(settings.timesteps);
  request.loras = wan::parse_lora_list(settings.loras);
  set_cache(request, settings);
  request.seed = settings.seed < 0 ? -1 : gint64((guint64(settings.seed) + guint64(clip)) & G_MAXINT64);
  return request;
}

const char* task_description(wan::Task task) {
  switch (task) {
    case wan::Task::TextToVideo: return "a text-to-video model: it takes no image-location or last-image-location";
    case wan::Task::ImageToVideo:
      return "an image-to-video model: set image-location (the first frame) and no last-image-location";
    case wan::Task::FirstLastFrameToVideo:
      return "a first-last-frame-to-video model: set both image-location and last-image-location";
  }
  return "";
}

std::string basename_of(const std::string& path) {
  gchar* name = g_path_get_basename(path.c_str());
  std::string result = name;
  g_free(name);
  return result;
}

// The settings a video from keyframes replaces, and those only it uses.
void check_keyframe_settings(const Settings& settings, size_t devices) {
  const auto refuse = [](const std::string& why) {
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, why);
  };
  if (!settings.keyframes.empty()) {
    if (!settings.image_location.empty() || !settings.last_image_location.empty())
      refuse("keyframes replace image-location and last-image-location: set only keyframes.");
    if (settings.clips != 1)
      refuse("clips does not apply to keyframes (the keyframes decide the video's length): leave clips at 1.");
    return;
  }
  if (!settings.prompts.empty())
    refuse("prompts gives each segment between keyframes its prompt: it needs keyframes (use prompt otherwise).");
  if (devices > 1)
    refuse("device lists " + std::to_string(devices) + " devices (" + settings.device +
           "): several devices serve the segments of keyframes only; set one device.");
}

// A property value every device must be able to run (`available` says why not): refused as a
// setting, not as a model that cannot be read.
void check_devices_run(const std::vector<std::string>& devices, const std::string& property, const std::string& value,
                       const std::string& default_value, bool (*available)(const at::Device&, std::string*)) {
  std::string why;
  for (const std::string& name : devices) {
    const std::string device = name.empty() ? wan::default_device_name() : name;
    if (!available(wan::parse_device(device), &why))
      throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                         property + " " + value + " cannot run here: " + why + ". Leave " + property + " at " +
                             default_value + " (the default) on this device.");
  }
}

// dtype fp8 and attention fp8 / int8 where a device cannot run them.
void check_fp8(const Settings& settings, const std::vector<std::string>& devices) {
  if (settings.dtype == GST_WAN_DTYPE_FP8) check_devices_run(devices, "dtype", "fp8", "auto", wan::cuda::fp8_available);
  if (settings.attention == GST_WAN_ATTENTION_FP8)
    check_devices_run(devices, "attention", "fp8", "exact", wan::cuda::fp8_attention_available);
  if (settings.attention == GST_WAN_ATTENTION_INT8)
    check_devices_run(devices, "attention", "int8", "exact", wan::cuda::int8_attention_available);
}

// The checkpoint, devices, dtype, attention and memory mode, as clips and the live stream load them.
wan::PipelineOptions model_options(const Settings& settings) {
  wan::PipelineOptions options;
  options.model_path = settings.model_path;
  options.device = settings.device;
  options.dtype = dtype_name(settings.dtype);
  options.attention = enum_nick(GST_TYPE_WAN_ATTENTION, settings.attention);
  options.text_encoder_device = settings.text_encoder_device;
  options.memory_mode = to_memory_mode(settings.memory_mode);
  return options;
}

// open_session() in live mode: a causal checkpoint's stream, sized by max-area (t2v).
Session open_live_session(GstWanVideoSrc* self, const Settings& settings, const std::vector<std::string>& devices) {
  auto refuse = [](const std::string& why) {
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "live mode: " + why);
  };
  if (!settings.image_location.empty() || !settings.last_image_location.empty() || !settings.keyframes.empty())
    refuse("it generates from the prompt alone; unset image-location, last-image-location and keyframes.");
  if (!settings.loras.empty()) refuse("loras are not supported; unset loras.");
  if (devices.size() > 1) refuse("it runs on one device; set one device.");
  check_fp8(settings, devices);
  wan::LiveOptions options;
  options.models = model_options(settings);
  options.seed = settings.seed;
  options.causal.local_attn_size = settings.live_window;
  options.causal.sink_size = settings.live_sink;
  if (settings.live_decoder == GST_WAN_LIVE_DECODER_TAEW2_1) {
    if (settings.preview_model.empty())
      refuse(
          "live-decoder taew2_1 decodes with the TAEW2.1 weights preview-model names; set preview-model to "
          "taew2_1.pth.");
    if (!g_file_test(settings.preview_model.c_str(), G_FILE_TEST_IS_REGULAR))
      refuse("live-decoder taew2_1: the preview model " + quoted(settings.preview_model) + " does not exist.");
    options.decoder = wan::LiveDecoder::Taew2_1;
    options.taehv_path = settings.preview_model;
  }
  Session session;
  session.base.max_area = settings.max_area;
  try {
    if (options.models.memory_mode != wan::MemoryMode::Resident &&
        options.models.memory_mode != wan::MemoryMode::TextEncoderCpu)
      refuse("memory-mode must be resident or text-encoder-cpu.");
    if (!settings.timesteps.empty()) options.causal.denoising_steps = wan::parse_distill_steps(settings.timesteps);
    if (settings.shift != kTaskDefaultShift) options.causal.timestep_shift = settings.shift;
    options.causal.validate();
    const wan::VideoGeometry g = wan::request_geometry(session.base);
    session.preferred_width = g.width;
    session.preferred_height = g.height;
  } catch (const wan::Error& e) {
    refuse(e.what());
  }
  post_progress(self, GST_PROGRESS_TYPE_CONTINUE, "Loading the causal model from " + settings.model_path);
  try {
    session.live =
        std::make_unique<wan::gst::LiveSession>(GST_ELEMENT(self), options, [self](const wan::Progress& progress) {
          post_progress(
              self, GST_PROGRESS_TYPE_CONTINUE,
              "Loading the model (" + std::to_string(progress.step) + "/" + std::to_string(progress.total_steps) + ")");
        });
  } catch (const std::exception& e) {
    throw ElementError(
        GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
        "Could not load the model from " + quoted(settings.model_path) + ": " + wan::one_line_message(e));
  }
  session.model_name = basename_of(settings.model_path);
  GST_OBJECT_LOCK(self);
  self->state->last_seed = session.live->stream().seed();
  GST_OBJECT_UNLOCK(self);
  gst_video_info_init(&session.info);
  return session;
}

// start()'s work: check the settings, read the images, load the models and
// work out the output size. Throws ElementError.
Session open_session(GstWanVideoSrc* self) {
  const Settings settings = copy_settings(self);
  if (settings.model_path.empty())
    throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
                       "No model given: set model-path to a Wan2.1 checkpoint folder "
                       "(for example Wan2.1-I2V-14B-480P).");
  if (!g_file_test(settings.model_path.c_str(), G_FILE_TEST_EXISTS))
    throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
                       "The model path " + quoted(settings.model_path) + " does not exist.");
  // Several devices serve the segments of a video from keyframes, one pipeline each.
  std::vector<std::string> devices{settings.device};
  try {
    if (!settings.device.empty()) devices = wan::parse_device_list(settings.device);
    if (!settings.text_encoder_device.empty()) wan::parse_device(settings.text_encoder_device);
  } catch (const wan::Error& e) {
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                       std::string("Unusable device: ") + e.what() + ".");
  }
  wan::gst::check_checkpoint_kind(settings.model_path, settings.live);
  if (settings.live) return open_live_session(self, settings, devices);
  const bool keyframes = !settings.keyframes.empty();
  check_keyframe_settings(settings, devices.size());
  if (!settings.last_image_location.empty() && settings.image_location.empty())
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                       "last-image-location is set but image-location is not: "
                       "first-last-frame-to-video needs both frames.");

  Session session;
  wan::Request& base = session.base;
  if (!settings.image_location.empty()) {
    post_progress(self, GST_PROGRESS_TYPE_CONTINUE, "Reading " + settings.image_location);
    base.image = wan::gst::load_rgb_image(settings.image_location);
  }
  if (!settings.last_image_location.empty()) {
    post_progress(self, GST_PROGRESS_TYPE_CONTINUE, "Reading " + settings.last_image_location);
    base.last_image = wan::gst::load_rgb_image(settings.last_image_location);
  }
  if (keyframes) {
    session.keyframes = wan::gst::load_keyframes(settings.keyframes, settings.prompts, [self](const std::string& path) {
      post_progress(self, GST_PROGRESS_TYPE_CONTINUE, "Reading keyframe " + path);
    });
    base.image = session.keyframes.keyframes[0];  // the first segment's images decide the size
    base.last_image = session.keyframes.keyframes[1];
  }
  base.max_area = settings.max_area;
  base.num_frames = settings.num_frames;
  set_sampling(base, settings);
  set_cache(base, settings);
  try {
    // The solver and its step list too: a list the solver cannot use fails the start, not the first clip.
    base.solver = to_solver(settings.solver);
    base.timesteps = wan::parse_distill_steps(settings.timesteps);
    base.validate();
  } catch (const wan::Error& e) {
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, e.what());
  }
  check_fp8(settings, devices);

  wan::PipelineOptions options = model_options(settings);
  options.lora_mode = settings.lora_mode == GST_WAN_LORA_MODE_RUNTIME ? wan::LoraMode::Runtime : wan::LoraMode::Merge;
  try {
    options.loras = wan::parse_lora_list(settings.loras);
  } catch (const wan::Error& e) {
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, e.what());
  }
  post_progress(self, GST_PROGRESS_TYPE_CONTINUE, "Loading the model from " + settings.model_path);
  try {
    for (const std::string& device : devices) {
      options.device = device;
      auto pipeline = wan::Pipeline::load(options, [self](const wan::Progress& progress) {
        post_progress(
            self, GST_PROGRESS_TYPE_CONTINUE,
            "Loading the model (" + std::to_string(progress.step) + "/" + std::to_string(progress.total_steps) + ")");
      });
      if (!session.pipeline) session.pipeline = pipeline;
      if (keyframes) session.segment_pipelines.push_back(std::move(pipeline));
    }
  } catch (const std::exception& e) {
    // wan::Error says which file and tensor; other exceptions come from
    // libtorch itself (out of memory, a device that went away).
    throw ElementError(
        GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
        "Could not load the model from " + quoted(settings.model_path) + ": " + wan::one_line_message(e));
  }
  session.model_name = basename_of(settings.model_path);
  if (settings.preview && !settings.preview_model.empty()) {
    if (!g_file_test(settings.preview_model.c_str(), G_FILE_TEST_IS_REGULAR))
      throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
                         "The preview model " + quoted(settings.preview_model) + " does not exist.");
    post_progress(self, GST_PROGRESS_TYPE_CONTINUE, "Loading the preview model from " + settings.preview_model);
    const std::string device = devices.front().empty() ? wan::default_device_name() : devices.front();
    try {
      session.preview_decoder = wan::PreviewDecoder::load(settings.preview_model, wan::parse_device(device));
    } catch (const std::exception& e) {
      throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ, wan::one_line_message(e));
    }
  }

  const wan::Task task = session.pipeline->task();
  if (keyframes && task != wan::Task::FirstLastFrameToVideo)
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                       "keyframes need a first-last-frame-to-video (flf2v) checkpoint such as "
                       "Wan2.1-FLF2V-14B-720P; the model in " +
                           quoted(settings.model_path) + " is a " + wan::task_name(task) + " model.");
  if (task != base.task())
    throw ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                       "The model in " + quoted(settings.model_path) + " is " + task_description(task) + ".");
  try {
    const auto size = session.pipeline->output_size(base);
    session.preferred_width = size.first;
    session.preferred_height = size.second;
  } catch (const wan::Error& e) {
    throw ElementError(GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT, std::string("Unsupported video size: ") + e.what());
  }
  GST_INFO_OBJECT(self, "loaded %s (%s), output %dx%d", settings.model_path.c_str(), dtype_name(settings.dtype).c_str(),
                  session.preferred_width, session.preferred_height);
  gst_video_info_init(&session.info);
  return session;
}

void post_clip_message(GstWanVideoSrc* self, const ClipInfo& info) {
  GST_OBJECT_LOCK(self);
  self->state->last_seed = info.seed;
  GST_OBJECT_UNLOCK(self);
  GstStructure* s = gst_structure_new("wan-clip", "clip", G_TYPE_UINT, guint(info.clip), "seed", G_TYPE_INT64,
                                      gint64(info.seed), "prompt", G_TYPE_STRING, info.prompt.c_str(), nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

void post_clip_done_message(GstWanVideoSrc* self, int clip, const wan::GenerationResult& result) {
  GstStructure* s = gst_structure_new("wan-clip-done", "clip", G_TYPE_UINT, guint(clip), "seed", G_TYPE_INT64,
                                      gint64(result.seed), "steps", G_TYPE_INT, result.steps, "forwards", G_TYPE_INT,
                                      result.forwards, "forwards-reused", G_TYPE_INT, result.forwards_reused, nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

void post_progress_message(GstWanVideoSrc* self, int clip, const wan::Progress& progress) {
  const double percent = progress.total_steps > 0 ? 100.0 * progress.step / progress.total_steps : 0.0;
  GstStructure* s = gst_structure_new("wan-progress", "clip", G_TYPE_UINT, guint(clip), "phase", G_TYPE_STRING,
                                      wan::phase_name(progress.phase), "step", G_TYPE_INT, progress.step, "total-steps",
                                      G_TYPE_INT, progress.total_steps, "percent", G_TYPE_DOUBLE, percent, "elapsed",
                                      G_TYPE_UINT64, guint64(progress.elapsed_s * GST_SECOND), nullptr);
  if (progress.forwards > 0)
    gst_structure_set(s, "forwards", G_TYPE_INT, progress.forwards, "forwards-reused", G_TYPE_INT,
                      progress.forwards_reused, nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

// The clip's tags go out with its first buffer: GstBaseSrc queues a TAG event
// sent to it and pushes it before the next buffer (after the segment). Its
// send_event is called directly because gst_element_send_event() takes the
// state lock, which a state change may hold while it waits for this thread.
void send_clip_tags(GstWanVideoSrc* self, const ClipInfo& info) {
  gchar* comment = g_strdup_printf("model=%s seed=%" G_GINT64_FORMAT " steps=%d guidance-scale=%g%s%s",
                                   self->state->session->model_name.c_str(), gint64(info.seed), info.steps,
                                   info.guidance_scale, info.loras.empty() ? "" : " loras=", info.loras.c_str());
  GstTagList* tags = gst_tag_list_new(GST_TAG_COMMENT, comment, GST_TAG_ENCODER, "gst-wan", nullptr);
  g_free(comment);
  if (!info.prompt.empty()) gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_TITLE, info.prompt.c_str(), nullptr);
  GST_ELEMENT_CLASS(parent_class)->send_event(GST_ELEMENT(self), gst_event_new_tag(tags));
}

std::shared_ptr<FrameQueue> current_queue(GstWanVideoSrc* self) {
  GST_OBJECT_LOCK(self);
  std::shared_ptr<FrameQueue> queue = self->state->queue;
  GST_OBJECT_UNLOCK(self);
  return queue;
}

bool image_conditioned(const Session& session) { return session.base.image.has_value(); }

// The scale of this step's preview: 0 (none) unless the preview pad is linked.
int preview_scale(GstWanVideoSrc* self) {
  GST_OBJECT_LOCK(self);
  GstPad* pad = self->state->preview_pad ? GST_PAD(gst_object_ref(self->state->preview_pad)) : nullptr;
  const int scale = self->state->settings.preview_size == GST_WAN_PREVIEW_SIZE_FULL ? 8 : 1;
  GST_OBJECT_UNLOCK(self);
  if (!pad) return 0;
  const bool linked = gst_pad_is_linked(pad);
  gst_object_unref(pad);
  return linked ? scale : 0;
}

// On the generation thread: post the step's message and hand the picture to the pad's task.
void queue_preview(GstWanVideoSrc* self, int clip, const wan::Preview& preview) {
  GST_OBJECT_LOCK(self);
  const std::shared_ptr<PreviewSlot> slot = self->state->preview_slot;
  const Session* session = self->state->session ? &*self->state->session : nullptr;
  const int num_frames = self->state->settings.num_frames;
  const bool conditioned = session && image_conditioned(*session);
  const guint64 fps_n = session ? GST_VIDEO_INFO_FPS_N(&session->info) : 0;
  const guint64 fps_d = session ? GST_VIDEO_INFO_FPS_D(&session->info) : 1;
  GST_OBJECT_UNLOCK(self);
  if (!slot) return;
  const wan::PreviewLayout& l = preview.layout;
  GstStructure* s = gst_structure_new("wan-preview", "clip", G_TYPE_UINT, guint(clip), "step", G_TYPE_INT, preview.step,
                                      "total-steps", G_TYPE_INT, preview.total_steps, "frames", G_TYPE_INT, l.frames,
                                      "width", G_TYPE_INT, l.width, "height", G_TYPE_INT, l.height, nullptr);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));

  // The clip's place in the main stream: the frames of the clips before it.
  auto frames_before = [&](int clips) { return clips == 0 ? 0 : wan::frames_in_clips(num_frames, clips, conditioned); };
  auto time_of = [&](gint64 frames) {
    return fps_n > 0 ? gst_util_uint64_scale(guint64(frames), fps_d * GST_SECOND, fps_n) : 0;
  };
  PreviewItem item;
  item.clip = clip;
  item.preview = preview;
  item.pts_ns = time_of(frames_before(clip));
  item.duration_ns = time_of(frames_before(clip + 1)) - item.pts_ns;
  slot->put(std::move(item));
}

// What the preview pad's task keeps between its runs.
struct PreviewTask {
  GstWanVideoSrc* self;
  GstPad* pad;
  std::shared_ptr<PreviewSlot> slot;
  bool stream_started = false;
  GstVideoInfo info;  // of the caps sent; width 0 before
};

void push_preview(PreviewTask& task, const PreviewItem& item) {
  const wan::Preview& p = item.preview;
  const int width = p.layout.width, height = p.layout.height;
  if (!task.stream_started) {
    gchar* id = gst_pad_create_stream_id(task.pad, GST_ELEMENT(task.self), "preview");
    gst_pad_push_event(task.pad, gst_event_new_stream_start(id));
    g_free(id);
  }
  if (!task.stream_started || GST_VIDEO_INFO_WIDTH(&task.info) != width ||
      GST_VIDEO_INFO_HEIGHT(&task.info) != height) {
    gst_video_info_set_format(&task.info, GST_VIDEO_FORMAT_RGB, guint(width), guint(height));
    GST_VIDEO_INFO_FPS_N(&task.info) = 0;
    GST_VIDEO_INFO_FPS_D(&task.info) = 1;
    GstCaps* caps = gst_video_info_to_caps(&task.info);
    gst_pad_push_event(task.pad, gst_event_new_caps(caps));
    gst_caps_unref(caps);
  }
  if (!task.stream_started) {
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    gst_pad_push_event(task.pad, gst_event_new_segment(&segment));
    task.stream_started = true;
  }
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&task.info), nullptr);
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &task.info, buffer, GST_MAP_WRITE)) {
    gst_buffer_unref(buffer);
    return;
  }
  const auto* in = p.image.data_ptr<uint8_t>();
  auto* out = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  for (int y = 0; y < height; ++y) std::copy_n(in + size_t(y) * width * 3, size_t(width) * 3, out + size_t(y) * stride);
  gst_video_frame_unmap(&frame);
  GST_BUFFER_PTS(buffer) = item.pts_ns;
  GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION(buffer) = item.duration_ns;
  GST_BUFFER_OFFSET(buffer) = guint64(p.step);
  GST_BUFFER_OFFSET_END(buffer) = GST_BUFFER_OFFSET_NONE;
  // Not linked or flushing only means nobody watches; the main stream goes on.
  const GstFlowReturn ret = gst_pad_push(task.pad, buffer);
  if (ret != GST_FLOW_OK) GST_LOG_OBJECT(task.self, "preview step %d not pushed: %s", p.step, gst_flow_get_name(ret));
}

void preview_loop(gpointer data) {
  PreviewTask& task = *static_cast<PreviewTask*>(data);
  const bool ok = guarded(task.self, "preview pad task", [&] {
    PreviewItem item;
    switch (task.slot->take(item)) {
      case PreviewSlot::TakeResult::Item: push_preview(task, item); return;
      case PreviewSlot::TakeResult::End:
        if (task.stream_started) gst_pad_push_event(task.pad, gst_event_new_eos());
        gst_pad_pause_task(task.pad);
        return;
      case PreviewSlot::TakeResult::Closed: gst_pad_pause_task(task.pad); return;
    }
  });
  if (!ok) gst_pad_pause_task(task.pad);  // the error is posted; no retry loop
}

// Its task waits in the slot: wake it before the pad's stream lock is taken.
void stop_preview_task(GstWanVideoSrc* self, GstPad* pad) {
  GST_OBJECT_LOCK(self);
  const std::shared_ptr<PreviewSlot> slot = self->state->preview_slot;
  GST_OBJECT_UNLOCK(self);
  if (slot) slot->close();
  gst_pad_stop_task(pad);
}

gboolean preview_activate_mode(GstPad* pad, GstObject* parent, GstPadMode, gboolean active) {
  if (active || !parent) return TRUE;  // activated before it is added: no parent yet, nothing to do
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(parent);
  return guarded(self, "preview pad deactivation", [&] { stop_preview_task(self, pad); });
}

void add_preview_pad(GstWanVideoSrc* self) {
  GstPad* pad = gst_pad_new_from_static_template(&preview_template, "preview");
  gst_pad_set_activatemode_function(pad, preview_activate_mode);
  gst_pad_use_fixed_caps(pad);
  auto slot = std::make_shared<PreviewSlot>(kQueuedPreviews);
  GST_OBJECT_LOCK(self);
  self->state->preview_slot = slot;
  self->state->preview_pad = pad;
  GST_OBJECT_UNLOCK(self);
  gst_pad_set_active(pad, TRUE);
  gst_pad_start_task(pad, preview_loop, new PreviewTask{self, pad, slot, false, {}},
                     [](gpointer data) { delete static_cast<PreviewTask*>(data); });
  gst_element_add_pad(GST_ELEMENT(self), pad);
  gst_element_no_more_pads(GST_ELEMENT(self));
}

void remove_preview_pad(GstWanVideoSrc* self) {
  GST_OBJECT_LOCK(self);
  GstPad* pad = self->state->preview_pad;
  GST_OBJECT_UNLOCK(self);
  if (!pad) return;
  stop_preview_task(self, pad);
  gst_pad_set_active(pad, FALSE);
  GST_OBJECT_LOCK(self);
  self->state->preview_pad = nullptr;
  self->state->preview_slot.reset();
  GST_OBJECT_UNLOCK(self);
  gst_element_remove_pad(GST_ELEMENT(self), pad);
}

// No more previews: the pad's task sends EOS after those waiting.
void finish_previews(GstWanVideoSrc* self) {
  GST_OBJECT_LOCK(self);
  const std::shared_ptr<PreviewSlot> slot = self->state->preview_slot;
  GST_OBJECT_UNLOCK(self);
  if (slot) slot->finish();
}

void start_worker(GstWanVideoSrc* self) {
  State* state = self->state;
  const Settings settings = copy_settings(self);
  ClipWorker::Events events;
  events.on_clip_start = [self](const ClipInfo& info) { post_clip_message(self, info); };
  events.on_progress = [self](int clip, const wan::Progress& progress) { post_progress_message(self, clip, progress); };
  events.on_clip_done = [self](int clip, const wan::GenerationResult& r) { post_clip_done_message(self, clip, r); };
  events.preview_scale = [self] { return preview_scale(self); };
  events.on_preview = [self](int clip, const wan::Preview& p) { queue_preview(self, clip, p); };
  events.preview_decoder = self->state->session->preview_decoder;
  Session& session = *state->session;
  if (session.live) {
    const GstVideoInfo& info = session.info;
    session.live->start(
        current_queue(self), [self] { return copy_settings(self).prompt; }, GST_VIDEO_INFO_WIDTH(&info),
        GST_VIDEO_INFO_HEIGHT(&info), GST_VIDEO_INFO_FPS_N(&info), GST_VIDEO_INFO_FPS_D(&info));
    return;
  }
  if (!session.segment_pipelines.empty())
    session.worker = std::make_unique<ClipWorker>(
        session.segment_pipelines, current_queue(self), session.keyframes.segments(),
        [self](int segment) {
          return self->state->session->keyframes.request(request_for_clip(self, segment), segment);
        },
        std::move(events));
  else
    session.worker = std::make_unique<ClipWorker>(
        session.pipeline, current_queue(self), gint64(settings.clips),
        [self](int clip) { return request_for_clip(self, clip); }, std::move(events));
  session.worker->start();
}

// Writes packed RGB into the negotiated format.
void write_frame(const std::vector<uint8_t>& rgb, GstVideoFrame* frame) {
  const int width = GST_VIDEO_FRAME_WIDTH(frame), height = GST_VIDEO_FRAME_HEIGHT(frame);
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  auto* out = static_cast<uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, 0));
  const GstVideoFormat format = GST_VIDEO_FRAME_FORMAT(frame);
  for (int y = 0; y < height; ++y) {
    const uint8_t* in = rgb.data() + size_t(y) * width * 3;
    uint8_t* row = out + size_t(y) * stride;
    if (format == GST_VIDEO_FORMAT_RGB) {
      std::copy(in, in + size_t(width) * 3, row);
      continue;
    }
    const bool bgr = format == GST_VIDEO_FORMAT_BGRx;
    for (int x = 0; x < width; ++x, in += 3, row += 4) {
      row[0] = bgr ? in[2] : in[0];
      row[1] = in[1];
      row[2] = bgr ? in[0] : in[2];
      row[3] = 255;
    }
  }
}

// The model, device and size properties only take effect at the next start().
bool model_settings_locked(GstWanVideoSrc* self) { return GST_STATE(self) > GST_STATE_READY || self->state->started; }

}  // namespace

static void set_property_impl(GstWanVideoSrc* self, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GObject* object = G_OBJECT(self);
  ObjectLock lock(self);
  Settings& s = self->state->settings;
  if ((pspec->flags & GST_PARAM_MUTABLE_READY) && model_settings_locked(self)) {
    GST_WARNING_OBJECT(self, "%s can only be changed in the NULL or READY state; ignored", pspec->name);
    return;
  }
  auto str = [value] {
    const gchar* v = g_value_get_string(value);
    return std::string(v ? v : "");
  };
  switch (prop_id) {
    case PROP_MODEL_PATH: s.model_path = str(); break;
    case PROP_IMAGE_LOCATION: s.image_location = str(); break;
    case PROP_LAST_IMAGE_LOCATION: s.last_image_location = str(); break;
    case PROP_PROMPT: s.prompt = str(); break;
    case PROP_NEGATIVE_PROMPT: s.negative_prompt = str(); break;
    case PROP_NUM_FRAMES: s.num_frames = g_value_get_int(value); break;
    case PROP_STEPS: s.steps = g_value_get_int(value); break;
    case PROP_GUIDANCE_SCALE: s.guidance_scale = g_value_get_double(value); break;
    case PROP_SHIFT: s.shift = g_value_get_double(value); break;
    case PROP_SOLVER: s.solver = GstWanSolver(g_value_get_enum(value)); break;
    case PROP_SEED: s.seed = g_value_get_int64(value); break;
    case PROP_MAX_AREA: s.max_area = g_value_get_int64(value); break;
    case PROP_DEVICE: s.device = str(); break;
    case PROP_DTYPE: s.dtype = GstWanDtype(g_value_get_enum(value)); break;
    case PROP_ATTENTION: s.attention = GstWanAttention(g_value_get_enum(value)); break;
    case PROP_MEMORY_MODE: s.memory_mode = GstWanMemoryMode(g_value_get_enum(value)); break;
    case PROP_TEXT_ENCODER_DEVICE: s.text_encoder_device = str(); break;
    case PROP_CLIPS: s.clips = g_value_get_uint(value); break;
    case PROP_TIMESTEPS: s.timesteps = str(); break;
    case PROP_LORAS: s.loras = str(); break;
    case PROP_LORA_MODE: s.lora_mode = GstWanLoraMode(g_value_get_enum(value)); break;
    case PROP_CACHE: s.cache = GstWanCache(g_value_get_enum(value)); break;
    case PROP_CACHE_THRESHOLD: s.cache_threshold = g_value_get_double(value); break;
    case PROP_CACHE_TEACACHE_RET_STEPS: s.cache_teacache_ret_steps = g_value_get_boolean(value); break;
    case PROP_CACHE_MAX_SKIPS: s.cache_max_skips = g_value_get_int(value); break;
    case PROP_CACHE_RETENTION_RATIO: s.cache_retention_ratio = g_value_get_double(value); break;
    case PROP_CACHE_WARMUP_STEPS: s.cache_warmup_steps = g_value_get_int(value); break;
    case PROP_PREVIEW: s.preview = g_value_get_boolean(value); break;
    case PROP_PREVIEW_SIZE: s.preview_size = GstWanPreviewSize(g_value_get_enum(value)); break;
    case PROP_PREVIEW_MODEL: s.preview_model = str(); break;
    case PROP_KEYFRAMES: s.keyframes = str(); break;
    case PROP_PROMPTS:
      s.prompts.clear();
      for (guint i = 0; i < gst_value_array_get_size(value); ++i) {
        const GValue* prompt = gst_value_array_get_value(value, i);
        const gchar* text = G_VALUE_HOLDS_STRING(prompt) ? g_value_get_string(prompt) : nullptr;
        s.prompts.push_back(text ? text : "");
      }
      break;
    case PROP_LIVE: s.live = g_value_get_boolean(value); break;
    case PROP_LIVE_WINDOW: s.live_window = g_value_get_int(value); break;
    case PROP_LIVE_SINK: s.live_sink = g_value_get_int(value); break;
    case PROP_LIVE_DECODER: s.live_decoder = GstWanLiveDecoder(g_value_get_enum(value)); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

static void get_property_impl(GstWanVideoSrc* self, guint prop_id, GValue* value, GParamSpec* pspec) {
  GObject* object = G_OBJECT(self);
  ObjectLock lock(self);
  const Settings& s = self->state->settings;
  switch (prop_id) {
    case PROP_MODEL_PATH: g_value_set_string(value, s.model_path.c_str()); break;
    case PROP_IMAGE_LOCATION: g_value_set_string(value, s.image_location.c_str()); break;
    case PROP_LAST_IMAGE_LOCATION: g_value_set_string(value, s.last_image_location.c_str()); break;
    case PROP_PROMPT: g_value_set_string(value, s.prompt.c_str()); break;
    case PROP_NEGATIVE_PROMPT: g_value_set_string(value, s.negative_prompt.c_str()); break;
    case PROP_NUM_FRAMES: g_value_set_int(value, s.num_frames); break;
    case PROP_STEPS: g_value_set_int(value, s.steps); break;
    case PROP_GUIDANCE_SCALE: g_value_set_double(value, s.guidance_scale); break;
    case PROP_SHIFT: g_value_set_double(value, s.shift); break;
    case PROP_SOLVER: g_value_set_enum(value, s.solver); break;
    case PROP_SEED: g_value_set_int64(value, s.seed); break;
    case PROP_LAST_SEED: g_value_set_int64(value, self->state->last_seed); break;
    case PROP_MAX_AREA: g_value_set_int64(value, s.max_area); break;
    case PROP_DEVICE: g_value_set_string(value, s.device.c_str()); break;
    case PROP_DTYPE: g_value_set_enum(value, s.dtype); break;
    case PROP_ATTENTION: g_value_set_enum(value, s.attention); break;
    case PROP_MEMORY_MODE: g_value_set_enum(value, s.memory_mode); break;
    case PROP_TEXT_ENCODER_DEVICE: g_value_set_string(value, s.text_encoder_device.c_str()); break;
    case PROP_CLIPS: g_value_set_uint(value, s.clips); break;
    case PROP_TIMESTEPS: g_value_set_string(value, s.timesteps.c_str()); break;
    case PROP_LORAS: g_value_set_string(value, s.loras.c_str()); break;
    case PROP_LORA_MODE: g_value_set_enum(value, s.lora_mode); break;
    case PROP_CACHE: g_value_set_enum(value, s.cache); break;
    case PROP_CACHE_THRESHOLD: g_value_set_double(value, s.cache_threshold); break;
    case PROP_CACHE_TEACACHE_RET_STEPS: g_value_set_boolean(value, s.cache_teacache_ret_steps); break;
    case PROP_CACHE_MAX_SKIPS: g_value_set_int(value, s.cache_max_skips); break;
    case PROP_CACHE_RETENTION_RATIO: g_value_set_double(value, s.cache_retention_ratio); break;
    case PROP_CACHE_WARMUP_STEPS: g_value_set_int(value, s.cache_warmup_steps); break;
    case PROP_PREVIEW: g_value_set_boolean(value, s.preview); break;
    case PROP_PREVIEW_SIZE: g_value_set_enum(value, s.preview_size); break;
    case PROP_PREVIEW_MODEL: g_value_set_string(value, s.preview_model.c_str()); break;
    case PROP_KEYFRAMES: g_value_set_string(value, s.keyframes.c_str()); break;
    case PROP_PROMPTS:
      for (const std::string& text : s.prompts) {
        GValue prompt = G_VALUE_INIT;
        g_value_init(&prompt, G_TYPE_STRING);
        g_value_set_string(&prompt, text.c_str());
        gst_value_array_append_and_take_value(value, &prompt);
      }
      break;
    case PROP_LIVE: g_value_set_boolean(value, s.live); break;
    case PROP_LIVE_WINDOW: g_value_set_int(value, s.live_window); break;
    case PROP_LIVE_SINK: g_value_set_int(value, s.live_sink); break;
    case PROP_LIVE_DECODER: g_value_set_enum(value, s.live_decoder); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec); break;
  }
}

static void gst_wan_video_src_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(object);
  guarded(self, "set_property", [&] { set_property_impl(self, prop_id, value, pspec); });
  // Outside the object lock, which GstBaseSrc takes; as accepted (not while running).
  if (prop_id == PROP_LIVE) gst_base_src_set_live(GST_BASE_SRC(self), copy_settings(self).live);
}

static void gst_wan_video_src_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(object);
  guarded(self, "get_property", [&] { get_property_impl(self, prop_id, value, pspec); });
}

static void prepare_live_stream(GstWanVideoSrc* self);

static gboolean start_impl(GstWanVideoSrc* self) {
  post_progress(self, GST_PROGRESS_TYPE_START, "Preparing the Wan model");
  try {
    Session session = open_session(self);
    const bool live = bool(session.live);
    GST_OBJECT_LOCK(self);
    self->state->queue = std::make_shared<FrameQueue>(session.live ? session.live->queue_frames() : kQueuedFrames);
    self->state->session = std::move(session);
    self->state->started = true;
    GST_OBJECT_UNLOCK(self);
    if (live) prepare_live_stream(self);
    post_progress(self, GST_PROGRESS_TYPE_COMPLETE, "The Wan model is ready");
    return TRUE;
  } catch (const ElementError& e) {
    POST_ERROR(self, e);
  } catch (const std::exception& e) {
    POST_ERROR(self,
               ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT, "Could not start: " + wan::one_line_message(e)));
  } catch (...) {
    POST_ERROR(self, ElementError(GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT, "Could not start: unknown error"));
  }
  // GstBaseSrc calls no stop() after a failed start(): settings must be changeable again.
  std::optional<Session> failed;  // released outside the lock
  GST_OBJECT_LOCK(self);
  failed.swap(self->state->session);
  self->state->started = false;
  GST_OBJECT_UNLOCK(self);
  post_progress(self, GST_PROGRESS_TYPE_ERROR, "Preparing the Wan model failed");
  return FALSE;
}

static gboolean gst_wan_video_src_start(GstBaseSrc* base) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(base);
  gboolean ok = FALSE;
  guarded(self, "start", [&] { ok = start_impl(self); });
  return ok;
}

static void stop_impl(GstWanVideoSrc* self) {
  State* state = self->state;
  if (state->session && state->session->worker) state->session->worker->stop();
  if (state->session && state->session->live) state->session->live->stop();  // cancels the chunk in flight
  remove_preview_pad(self);
  std::optional<Session> closing;  // released outside the lock
  GST_OBJECT_LOCK(self);
  closing.swap(state->session);
  state->started = false;
  GST_OBJECT_UNLOCK(self);
  auto queue = std::make_shared<FrameQueue>(kQueuedFrames);
  ObjectLock lock(self);
  state->queue = std::move(queue);
}

static gboolean gst_wan_video_src_stop(GstBaseSrc* base) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(base);
  return guarded(self, "stop", [&] { stop_impl(self); });
}

static gboolean gst_wan_video_src_unlock(GstBaseSrc* base) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(base);
  return guarded(self, "unlock", [&] {
    current_queue(self)->set_flushing(true);
    // A streaming thread waiting for the live warm-up goes on at once.
    with_live_session(self, [](wan::gst::LiveSession& live) { live.cancel_warm_up(); });
  });
}

static gboolean gst_wan_video_src_unlock_stop(GstBaseSrc* base) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(base);
  return guarded(self, "unlock_stop", [&] {
    current_queue(self)->set_flushing(false);
    // After a flush the stamps go on from the pipeline's running time, not the old anchor.
    with_live_session(self, [](wan::gst::LiveSession& live) { live.restart_timeline(); });
  });
}

static gboolean gst_wan_video_src_is_seekable(GstBaseSrc*) { return FALSE; }

static GstCaps* gst_wan_video_src_fixate(GstBaseSrc* base, GstCaps* caps) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(base);
  caps = gst_caps_make_writable(caps);
  // On failure the parent's fixation still gives fixed caps (the error stops the pipeline).
  guarded(self, "fixate", [&] {
    const Session* session = self->state->session ? &*self->state->session : nullptr;
    for (guint i = 0; i < gst_caps_get_size(caps); ++i) {
      GstStructure* s = gst_caps_get_structure(caps, i);
      if (session) {
        gst_structure_fixate_field_nearest_int(s, "width", session->preferred_width);
        gst_structure_fixate_field_nearest_int(s, "height", session->preferred_height);
      }
      gst_structure_fixate_field_nearest_fraction(s, "framerate", kDefaultFpsN, 1);
      if (gst_structure_has_field(s, "pixel-aspect-ratio"))
        gst_structure_fixate_field_nearest_fraction(s, "pixel-aspect-ratio", 1, 1);
    }
  });
  return GST_BASE_SRC_CLASS(parent_class)->fixate(base, caps);
}

// A live source's first frames wait for nothing once it plays: the stream's one-off costs
// and its first chunk are paid here, while READY -> PAUSED waits (as it does for the model's
// load), at the size downstream will negotiate (asked now, fixated as negotiation will).
static void prepare_live_stream(GstWanVideoSrc* self) {
  GstBaseSrc* base = GST_BASE_SRC(self);
  Session& session = *self->state->session;
  int width = session.preferred_width, height = session.preferred_height;
  GstCaps* caps = gst_pad_get_allowed_caps(GST_BASE_SRC_PAD(base));  // nullptr: not linked
  if (caps && !gst_caps_is_empty(caps)) {
    caps = gst_wan_video_src_fixate(base, gst_caps_truncate(caps));
    GstVideoInfo info;
    if (gst_video_info_from_caps(&info, caps) && GST_VIDEO_INFO_WIDTH(&info) % 16 == 0 &&
        GST_VIDEO_INFO_HEIGHT(&info) % 16 == 0) {
      width = GST_VIDEO_INFO_WIDTH(&info);
      height = GST_VIDEO_INFO_HEIGHT(&info);
    }
  }
  if (caps) gst_caps_unref(caps);
  post_progress(self, GST_PROGRESS_TYPE_CONTINUE, "Generating the first chunk ahead");
  try {
    session.live->prepare(width, height, copy_settings(self).prompt, /*wait=*/true);
  } catch (const std::exception& e) {
    throw ElementError(GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_FAILED,
                       "Could not generate the live stream's first chunk: " + wan::one_line_message(e));
  }
}

static gboolean set_caps_impl(GstWanVideoSrc* self, GstCaps* caps) {
  GstBaseSrc* base = GST_BASE_SRC(self);
  if (!self->state->session) return FALSE;
  Session& session = *self->state->session;
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, caps)) return FALSE;
  const int width = GST_VIDEO_INFO_WIDTH(&info), height = GST_VIDEO_INFO_HEIGHT(&info);
  if (width % 16 != 0 || height % 16 != 0) {
    GST_ELEMENT_ERROR(
        self, STREAM, FORMAT,
        ("Wan generates widths and heights that are multiples of 16; downstream asks for %dx%d.", width, height),
        ("caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  if ((session.worker || (session.live && session.live->started())) &&
      (width != GST_VIDEO_INFO_WIDTH(&session.info) || height != GST_VIDEO_INFO_HEIGHT(&session.info))) {
    GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("The video size cannot change while generating."),
                      ("from %dx%d to %dx%d", GST_VIDEO_INFO_WIDTH(&session.info), GST_VIDEO_INFO_HEIGHT(&session.info),
                       width, height));
    return FALSE;
  }
  // An explicit size only when downstream chose one; otherwise the request
  // keeps the max-area rule, exactly as the official pipeline sizes it. Once
  // generating, the worker reads the request, and the size is fixed anyway.
  if (!session.worker) {
    const bool preferred = width == session.preferred_width && height == session.preferred_height;
    session.base.width = preferred ? 0 : width;
    session.base.height = preferred ? 0 : height;
  }
  GST_OBJECT_LOCK(self);  // queries read it from other threads
  session.info = info;
  GST_OBJECT_UNLOCK(self);
  // Negotiated in PAUSED, before a live source plays: a size other than the one start()
  // prepared is prepared now, in the background.
  if (session.live && !session.live->started())
    session.live->prepare(width, height, copy_settings(self).prompt, /*wait=*/false);
  // Without a downstream pool GstBaseSrc allocates blocksize bytes per buffer.
  gst_base_src_set_blocksize(base, guint(GST_VIDEO_INFO_SIZE(&info)));
  GST_DEBUG_OBJECT(self, "negotiated %" GST_PTR_FORMAT, caps);
  return TRUE;
}

static gboolean gst_wan_video_src_set_caps(GstBaseSrc* base, GstCaps* caps) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(base);
  gboolean ok = FALSE;
  guarded(self, "set_caps", [&] { ok = set_caps_impl(self, caps); });
  return ok;
}

// The frame rate of the caps: the negotiated one, else the one fixate() would choose from
// what downstream allows (0/1 when neither is known).
static std::pair<int, int> caps_frame_rate(GstWanVideoSrc* self) {
  {
    ObjectLock lock(self);
    const Session* session = self->state->session ? &*self->state->session : nullptr;
    if (session && GST_VIDEO_INFO_FPS_N(&session->info) > 0)
      return {GST_VIDEO_INFO_FPS_N(&session->info), GST_VIDEO_INFO_FPS_D(&session->info)};
  }
  std::pair<int, int> rate{0, 1};
  GstCaps* caps = gst_pad_get_allowed_caps(GST_BASE_SRC_PAD(self));
  if (caps && !gst_caps_is_empty(caps)) {
    caps = gst_caps_truncate(caps);
    GstStructure* s = gst_caps_get_structure(caps, 0);
    gst_structure_fixate_field_nearest_fraction(s, "framerate", kDefaultFpsN, 1);  // false when fixed already
    if (!gst_structure_get_fraction(s, "framerate", &rate.first, &rate.second)) rate = {0, 1};
  }
  if (caps) gst_caps_unref(caps);
  return rate;
}

static gboolean query_impl(GstWanVideoSrc* self, GstQuery* query) {
  GstBaseSrc* base = GST_BASE_SRC(self);
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_LATENCY: {
      // Asked before the caps are negotiated too (going to PLAYING): downstream's rate.
      const std::pair<int, int> rate = caps_frame_rate(self);
      const bool live = with_live_session(self, [&](wan::gst::LiveSession& session) {
        if (!session.started()) session.set_frame_rate(rate.first, rate.second);
        session.answer_latency(query);
      });
      if (live) return TRUE;
      // Not live: frames are timestamped from 0 and come when they are ready.
      gst_query_set_latency(query, FALSE, 0, GST_CLOCK_TIME_NONE);
      return TRUE;
    }
    case GST_QUERY_DURATION: {
      GstFormat format;
      gst_query_parse_duration(query, &format, nullptr);
      GST_OBJECT_LOCK(self);
      const Settings& settings = self->state->settings;
      const Session* session = self->state->session ? &*self->state->session : nullptr;
      const gint64 clips =
          session && !session->segment_pipelines.empty() ? session->keyframes.segments() : settings.clips;
      const gint64 frames =
          session ? wan::frames_in_clips(settings.num_frames, clips, image_conditioned(*session)) : -1;
      const int fps_n = session ? GST_VIDEO_INFO_FPS_N(&session->info) : 0;
      const int fps_d = session ? GST_VIDEO_INFO_FPS_D(&session->info) : 1;
      GST_OBJECT_UNLOCK(self);
      if (frames < 0 || (session && session->live)) break;  // not started, or endless
      if (format == GST_FORMAT_DEFAULT) {
        gst_query_set_duration(query, format, frames);
        return TRUE;
      }
      if (format == GST_FORMAT_TIME && fps_n > 0) {
        gst_query_set_duration(query, format, gst_util_uint64_scale(frames, fps_d * GST_SECOND, fps_n));
        return TRUE;
      }
      break;
    }
    default: break;
  }
  return GST_BASE_SRC_CLASS(parent_class)->query(base, query);
}

static gboolean gst_wan_video_src_query(GstBaseSrc* base, GstQuery* query) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(base);
  gboolean ok = FALSE;
  guarded(self, "query", [&] { ok = query_impl(self, query); });
  return ok;
}

// GST_EVENT_LATENCY: the latency the pipeline configured, which live mode stamps its frames
// for (the query's answer may not be what the pipeline settles on). Every event goes on to
// GstBaseSrc as well.
static gboolean gst_wan_video_src_event(GstBaseSrc* base, GstEvent* event) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(base);
  if (GST_EVENT_TYPE(event) == GST_EVENT_LATENCY) {
    GstClockTime latency = GST_CLOCK_TIME_NONE;
    gst_event_parse_latency(event, &latency);
    guarded(self, "event",
            [&] { with_live_session(self, [&](wan::gst::LiveSession& live) { live.configure_latency(latency); }); });
  }
  return GST_BASE_SRC_CLASS(parent_class)->event(base, event);
}

static GstFlowReturn fill_impl(GstWanVideoSrc* self, GstBuffer* buffer) {
  State* state = self->state;
  if (!state->session) return GST_FLOW_FLUSHING;
  Session& session = *state->session;
  try {
    if (session.live && !session.live->started()) {
      start_worker(self);
    } else if (!session.live && !session.worker) {
      // Added here, after GstBaseSrc sent the main pad's stream-start: it names its stream
      // only while the element has one source pad.
      if (copy_settings(self).preview) add_preview_pad(self);
      start_worker(self);
    }
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Could not start generating: %s", wan::one_line_message(e).c_str()),
                      (nullptr));
    return GST_FLOW_ERROR;
  }

  const std::shared_ptr<FrameQueue> queue = current_queue(self);
  for (;;) {
    WorkerItem item;
    if (queue->pop(item) != FrameQueue::PopResult::Item) return GST_FLOW_FLUSHING;
    switch (item.kind) {
      case WorkerItem::Kind::ClipStart: send_clip_tags(self, item.clip); continue;
      case WorkerItem::Kind::End:
        finish_previews(self);
        GST_DEBUG_OBJECT(self, "all clips done after %" G_GUINT64_FORMAT " frames", session.frames_out);
        return GST_FLOW_EOS;
      case WorkerItem::Kind::Error:
        finish_previews(self);
        GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Video generation failed: %s", item.error.c_str()), (nullptr));
        return GST_FLOW_ERROR;
      case WorkerItem::Kind::Frame: break;
    }
    GstVideoInfo& info = session.info;
    const size_t expected = size_t(GST_VIDEO_INFO_WIDTH(&info)) * GST_VIDEO_INFO_HEIGHT(&info) * 3;
    if (item.rgb.size() != expected) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("The generated frame does not have the negotiated size."),
                        ("%zu bytes, expected %zu", item.rgb.size(), expected));
      return GST_FLOW_ERROR;
    }
    GstVideoFrame frame;
    if (!gst_video_frame_map(&frame, &info, buffer, GST_MAP_WRITE)) {
      GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("Could not map the output buffer."), (nullptr));
      return GST_FLOW_ERROR;
    }
    write_frame(item.rgb, &frame);
    gst_video_frame_unmap(&frame);

    if (session.live) {
      session.frames_out++;
      session.live->stamp(buffer);
      return GST_FLOW_OK;
    }
    const guint64 n = session.frames_out++;
    const guint64 fps_n = GST_VIDEO_INFO_FPS_N(&info), fps_d = GST_VIDEO_INFO_FPS_D(&info);
    const GstClockTime pts = gst_util_uint64_scale(n, fps_d * GST_SECOND, fps_n);
    GST_BUFFER_PTS(buffer) = pts;
    GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale(n + 1, fps_d * GST_SECOND, fps_n) - pts;
    GST_BUFFER_OFFSET(buffer) = n;
    GST_BUFFER_OFFSET_END(buffer) = n + 1;
    return GST_FLOW_OK;
  }
}

static GstFlowReturn gst_wan_video_src_fill(GstPushSrc* push, GstBuffer* buffer) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(push);
  GstFlowReturn ret = GST_FLOW_ERROR;
  guarded(self, "fill", [&] { ret = fill_impl(self, buffer); });
  return ret;
}

static void gst_wan_video_src_finalize(GObject* object) {
  GstWanVideoSrc* self = GST_WAN_VIDEO_SRC(object);
  // Nothing may be posted from a finalizing object: a failure is only logged.
  State* state = self->state;
  self->state = nullptr;
  try {
    delete state;
  } catch (const std::exception& e) {
    GST_ERROR_OBJECT(self, "finalize: %s", wan::one_line_message(e).c_str());
  } catch (...) {
    GST_ERROR_OBJECT(self, "finalize: unknown exception");
  }
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_wan_video_src_init(GstWanVideoSrc* self) {
  self->state = new State();
  self->state->settings.device = safe_default_device();
  if (const gchar* fail_in = g_getenv("WAN_GST_FAIL_IN")) self->state->fail_in = fail_in;
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
  gst_base_src_set_live(GST_BASE_SRC(self), FALSE);
}

static void gst_wan_video_src_class_init(GstWanVideoSrcClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass* base_class = GST_BASE_SRC_CLASS(klass);
  GstPushSrcClass* push_class = GST_PUSH_SRC_CLASS(klass);

  gobject_class->set_property = gst_wan_video_src_set_property;
  gobject_class->get_property = gst_wan_video_src_get_property;
  gobject_class->finalize = gst_wan_video_src_finalize;

  const auto ready = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto playing = GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);

  g_object_class_install_property(
      gobject_class, PROP_MODEL_PATH,
      g_param_spec_string(
          "model-path", "Model path",
          "Wan2.1 checkpoint folder (official or diffusers layout, e.g. Wan2.1-I2V-14B-480P), or a single-file "
          "DiT (.safetensors) with the official VAE, umT5, tokenizer and CLIP files beside it; "
          "what it holds decides the task (t2v, i2v or flf2v)",
          nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_IMAGE_LOCATION,
      g_param_spec_string("image-location", "Image location",
                          "First frame for image-to-video and first-last-frame-to-video (any format GStreamer decodes)",
                          nullptr, ready));
  g_object_class_install_property(gobject_class, PROP_LAST_IMAGE_LOCATION,
                                  g_param_spec_string("last-image-location", "Last image location",
                                                      "Last frame for first-last-frame-to-video", nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_PROMPT,
      g_param_spec_string("prompt", "Prompt",
                          "What the video shows; applies from the next clip when changed while playing", nullptr,
                          playing));
  g_object_class_install_property(
      gobject_class, PROP_NEGATIVE_PROMPT,
      g_param_spec_string("negative-prompt", "Negative prompt",
                          "What to steer away from; empty = the official default negative prompt of the task", nullptr,
                          playing));
  // The numeric ranges below are wider than the valid values on purpose: GLib drops an
  // out-of-range value with a warning and keeps the old one, while the element checks the
  // value at start and fails it with an error on the bus naming the property.
  g_object_class_install_property(
      gobject_class, PROP_NUM_FRAMES,
      g_param_spec_int("num-frames", "Frames per clip", "Frames per clip, of the form 4n+1 (1, 5, ..., 81, ...)",
                       G_MININT, G_MAXINT, kDefaultNumFrames, ready));
  g_object_class_install_property(
      gobject_class, PROP_STEPS,
      g_param_spec_int("steps", "Sampling steps",
                       "Denoising steps, 1..1000; 0 = the task's default (generate.py's: 40 for i2v, 50 for t2v and "
                       "flf2v)",
                       G_MININT, G_MAXINT, kTaskDefaultSteps, playing));
  g_object_class_install_property(
      gobject_class, PROP_GUIDANCE_SCALE,
      g_param_spec_double("guidance-scale", "Guidance scale",
                          "Classifier-free guidance scale, >= 0; -1 = the task's default (5)", -G_MAXDOUBLE,
                          G_MAXDOUBLE, kTaskDefaultGuidance, playing));
  g_object_class_install_property(
      gobject_class, PROP_SHIFT,
      g_param_spec_double(
          "shift", "Shift",
          "Noise schedule shift of the flow-matching solver; 0 = the task's default (generate.py's: 3 for i2v at "
          "480p, i.e. 832x480 pixels or fewer; 16 for flf2v; 5 otherwise)",
          -G_MAXDOUBLE, G_MAXDOUBLE, kTaskDefaultShift, playing));
  g_object_class_install_property(
      gobject_class, PROP_SOLVER,
      g_param_spec_enum("solver", "Solver", "Sampling solver", GST_TYPE_WAN_SOLVER, GST_WAN_SOLVER_UNIPC, playing));
  g_object_class_install_property(
      gobject_class, PROP_SEED,
      g_param_spec_int64("seed", "Seed",
                         "Noise seed; -1 = a random seed per clip. Clip k of a run uses seed + k (see last-seed)", -1,
                         G_MAXINT64, -1, playing));
  g_object_class_install_property(
      gobject_class, PROP_LAST_SEED,
      g_param_spec_int64("last-seed", "Last seed",
                         "The seed of the clip being generated (or last generated); -1 before", -1, G_MAXINT64, -1,
                         GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_MAX_AREA,
      g_param_spec_int64(
          "max-area", "Maximum area",
          "Pixel count the output size aims at, keeping the image's aspect ratio (832*480 = 480p, 1280*720 = 720p); "
          "at least 16*16",
          G_MININT64, G_MAXINT64, kDefaultMaxArea, ready));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_string(
          "device", "Device",
          "Where the models run: \"cpu\", \"cuda\" or \"cuda:N\" (default: cuda:0 when libtorch has CUDA, else "
          "cpu); with keyframes a comma-separated list, one pipeline per entry (a device may repeat)",
          safe_default_device().c_str(), ready));
  g_object_class_install_property(gobject_class, PROP_DTYPE,
                                  g_param_spec_enum("dtype", "Data type", "Compute data type of the models",
                                                    GST_TYPE_WAN_DTYPE, GST_WAN_DTYPE_AUTO, ready));
  g_object_class_install_property(
      gobject_class, PROP_ATTENTION,
      g_param_spec_enum("attention", "Attention",
                        "The DiT's self-attention: exact, fp8 (8-bit cuDNN SDPA; opt-in, lossy, Hopper and newer) or "
                        "int8 (our 8-bit integer kernel; opt-in, lossy, Hopper only)",
                        GST_TYPE_WAN_ATTENTION, GST_WAN_ATTENTION_EXACT, ready));
  g_object_class_install_property(
      gobject_class, PROP_MEMORY_MODE,
      g_param_spec_enum("memory-mode", "Memory mode", "How the models share the device memory",
                        GST_TYPE_WAN_MEMORY_MODE, GST_WAN_MEMORY_MODE_RESIDENT, ready));
  g_object_class_install_property(
      gobject_class, PROP_TEXT_ENCODER_DEVICE,
      g_param_spec_string("text-encoder-device", "Text encoder device",
                          "Device of the umT5 text encoder; empty = the same as device", nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_CLIPS,
      g_param_spec_uint(
          "clips", "Clips",
          "Clips to generate before EOS, each continuing from the last frame of the one before; 0 = endless", 0,
          G_MAXUINT, 1, ready));

  g_object_class_install_property(
      gobject_class, PROP_TIMESTEPS,
      g_param_spec_string("timesteps", "Timesteps",
                          "Denoising steps of the distill and renoise solvers, e.g. \"1000,750,500,250\" (integers "
                          "1..1000, decreasing); empty = N steps at round(1000 (N - k) / N)",
                          nullptr, playing));
  g_object_class_install_property(
      gobject_class, PROP_LORAS,
      g_param_spec_string("loras", "LoRAs",
                          "LoRA files for the diffusion model, \"path:strength,path:strength\" (strength 1 when left "
                          "out; kohya, Wan-Fun, official, lightx2v and diffusers formats); applies from the next clip "
                          "when changed while playing",
                          nullptr, playing));
  g_object_class_install_property(
      gobject_class, PROP_LORA_MODE,
      g_param_spec_enum("lora-mode", "LoRA mode",
                        "How LoRAs are applied: merged into the weights (changing them while playing reloads the "
                        "model) or at run time (changing their strengths reloads nothing)",
                        GST_TYPE_WAN_LORA_MODE, GST_WAN_LORA_MODE_MERGE, ready));

  g_object_class_install_property(
      gobject_class, PROP_CACHE,
      g_param_spec_enum("cache", "Step cache",
                        "Skip the transformer blocks of forwards whose input changed little since the last computed "
                        "one, reusing its residual (faster many-step sampling, not exact)",
                        GST_TYPE_WAN_CACHE, GST_WAN_CACHE_NONE, playing));
  g_object_class_install_property(
      gobject_class, PROP_CACHE_THRESHOLD,
      g_param_spec_double("cache-threshold", "Step cache threshold",
                          "Higher skips more; 0 = the method's published default for the model (TeaCache: 0.05 "
                          "t2v-1.3B, 0.1 t2v-14B, 0.2 i2v; MagCache: 0.12; EasyCache: 0.05)",
                          0.0, 1e9, 0.0, playing));
  // The window parameters: each applies to its method only; out-of-range values fail the
  // next clip with the request's error.
  g_object_class_install_property(
      gobject_class, PROP_CACHE_TEACACHE_RET_STEPS,
      g_param_spec_boolean("cache-teacache-ret-steps", "TeaCache ret-steps variant",
                           "TeaCache: decide on the time projection, always computing the first 5 steps and "
                           "deciding to the end (TRUE, the default), or on the time embedding, computing the first "
                           "and the last step",
                           TRUE, playing));
  g_object_class_install_property(
      gobject_class, PROP_CACHE_MAX_SKIPS,
      g_param_spec_int("cache-max-skips", "MagCache K",
                       "MagCache: at most this many steps in a row reuse the cache (K, at least 1); 0 = the "
                       "method's default (2)",
                       G_MININT, G_MAXINT, 0, playing));
  g_object_class_install_property(
      gobject_class, PROP_CACHE_RETENTION_RATIO,
      g_param_spec_double("cache-retention-ratio", "MagCache retention ratio",
                          "MagCache: the share of the steps (0..1) that always run first; -1 = the method's "
                          "default (0.2)",
                          -G_MAXDOUBLE, G_MAXDOUBLE, -1.0, playing));
  g_object_class_install_property(
      gobject_class, PROP_CACHE_WARMUP_STEPS,
      g_param_spec_int("cache-warmup-steps", "EasyCache warm-up steps",
                       "EasyCache: the steps that always run first (its ret_steps, 0..1000); -1 = the method's "
                       "default (10)",
                       G_MININT, G_MAXINT, -1, playing));

  g_object_class_install_property(
      gobject_class, PROP_PREVIEW,
      g_param_spec_boolean("preview", "Preview pad",
                           "Add the \"preview\" pad when starting: while it is linked, every denoising step "
                           "pushes the clip as that step predicts it (nothing is computed while it is unlinked)",
                           TRUE, ready));
  g_object_class_install_property(
      gobject_class, PROP_PREVIEW_SIZE,
      g_param_spec_enum("preview-size", "Preview size",
                        "Size of each latent frame in the preview: the latent's (1/8 of the video's width and "
                        "height) or the video's (nearest); applies from the next step",
                        GST_TYPE_WAN_PREVIEW_SIZE, GST_WAN_PREVIEW_SIZE_LATENT, playing));
  g_object_class_install_property(
      gobject_class, PROP_PREVIEW_MODEL,
      g_param_spec_string("preview-model", "Preview model",
                          "TAEW2.1 weights (madebyollin's taew2_1.pth or .safetensors): with preview-size=full, "
                          "each latent frame is decoded by that tiny decoder at the video's size instead of the "
                          "linear map repeated x8; empty = the linear map. Loaded at start",
                          nullptr, ready));

  g_object_class_install_property(
      gobject_class, PROP_KEYFRAMES,
      g_param_spec_string(
          "keyframes", "Keyframes",
          "A long video through these images, comma-separated (\"a.png,b.png,c.png\"), with a "
          "first-last-frame-to-video checkpoint: segment k (num-frames frames) runs from keyframe k to k+1 and "
          "each shared keyframe is output once; with several devices (device=cuda:0,cuda:1) the segments run in "
          "parallel and come out in order. Replaces image-location, last-image-location and clips",
          nullptr, ready));
  g_object_class_install_property(
      gobject_class, PROP_PROMPTS,
      gst_param_spec_array("prompts", "Segment prompts",
                           "With keyframes: one prompt per segment, an array such as <\"a cat walks\", \"the cat "
                           "jumps\"> (quoted whole in gst-launch); empty = prompt for every segment",
                           g_param_spec_string("prompt", "Prompt", "One segment's prompt", nullptr,
                                               GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)),
                           ready));

  g_object_class_install_property(
      gobject_class, PROP_LIVE,
      g_param_spec_boolean("live", "Live",
                           "Stream endlessly from a causal (Self-Forcing) checkpoint as a live source: frames "
                           "chunk by chunk, stamped with the pipeline clock's running time; prompt changes apply "
                           "from the next chunk",
                           FALSE, ready));
  g_object_class_install_property(
      gobject_class, PROP_LIVE_WINDOW,
      g_param_spec_int("live-window", "Live attention window",
                       "Live mode: latent frames each chunk attends to (sink frames and the chunk included), so "
                       "time and memory per chunk stay flat; -1 = every frame so far (grows without end)",
                       G_MININT, G_MAXINT, int(wan::live_causal_settings().local_attn_size), ready));
  g_object_class_install_property(
      gobject_class, PROP_LIVE_SINK,
      g_param_spec_int("live-sink", "Live attention sink",
                       "Live mode: latent frames at the stream's start that stay in the attention window for good "
                       "(3 = the first chunk)",
                       G_MININT, G_MAXINT, int(wan::live_causal_settings().sink_size), ready));
  g_object_class_install_property(
      gobject_class, PROP_LIVE_DECODER,
      g_param_spec_enum("live-decoder", "Live decoder",
                        "Live mode: what turns chunks into frames; taew2_1 uses the preview-model file",
                        GST_TYPE_WAN_LIVE_DECODER, GST_WAN_LIVE_DECODER_VAE, ready));

  gst_element_class_set_static_metadata(
      element_class, "Wan2.1 video generator", "Source/Video",
      "Generates video from a prompt and optional first/last frames with the Wan2.1 diffusion models",
      "gst-wan authors");
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_add_static_pad_template(element_class, &preview_template);

  base_class->start = GST_DEBUG_FUNCPTR(gst_wan_video_src_start);
  base_class->stop = GST_DEBUG_FUNCPTR(gst_wan_video_src_stop);
  base_class->unlock = GST_DEBUG_FUNCPTR(gst_wan_video_src_unlock);
  base_class->unlock_stop = GST_DEBUG_FUNCPTR(gst_wan_video_src_unlock_stop);
  base_class->is_seekable = GST_DEBUG_FUNCPTR(gst_wan_video_src_is_seekable);
  base_class->fixate = GST_DEBUG_FUNCPTR(gst_wan_video_src_fixate);
  base_class->set_caps = GST_DEBUG_FUNCPTR(gst_wan_video_src_set_caps);
  base_class->query = GST_DEBUG_FUNCPTR(gst_wan_video_src_query);
  base_class->event = GST_DEBUG_FUNCPTR(gst_wan_video_src_event);
  push_class->fill = GST_DEBUG_FUNCPTR(gst_wan_video_src_fill);

  gst_type_mark_as_plugin_api(GST_TYPE_WAN_SOLVER, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_WAN_MEMORY_MODE, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_WAN_DTYPE, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_WAN_ATTENTION, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_WAN_LORA_MODE, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_WAN_CACHE, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_WAN_PREVIEW_SIZE, GstPluginAPIFlags(0));
  gst_type_mark_as_plugin_api(GST_TYPE_WAN_LIVE_DECODER, GstPluginAPIFlags(0));

  GST_DEBUG_CATEGORY_INIT(gst_wan_video_src_debug, "wanvideosrc", 0, "Wan2.1 video generator");
}
