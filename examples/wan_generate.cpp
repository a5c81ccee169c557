// wan-generate: the official generate.py's command line on the C++ pipeline.
// Writes the video as Y4M (play with mpv / ffplay, or read it in GStreamer with
// `gst-launch-1.0 filesrc location=out.y4m ! decodebin ! ...`).
//
//   wan-generate --ckpt_dir Wan2.1-I2V-14B-480P --image cat.jpg --prompt "..."
//                --size 832*480 --device cuda --save_file cat.y4m
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#ifdef WAN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include "examples/y4m_writer.h"
#include "models/common/error.h"
#include "models/weights/lora_spec.h"
#include "pipeline/clip_continuation.h"
#include "pipeline/device_name.h"
#include "pipeline/flow_step_distill.h"
#include "pipeline/image_file.h"
#include "pipeline/keyframe_segments.h"
#include "pipeline/model_family.h"
#include "pipeline/names.h"
#include "pipeline/pipeline.h"
#include "pipeline/seeded_noise.h"

namespace {

const int kFps = wan::SamplingDefaults{}.fps;  // the released models' sample_fps

const char* kUsage = R"(usage: wan-generate --ckpt_dir DIR --prompt TEXT [options]

  --task NAME              t2v-14B, t2v-1.3B, i2v-14B or flf2v-14B (or t2v, i2v, flf2v);
                           default: what the checkpoint is
  --ckpt_dir DIR           checkpoint folder (official or diffusers layout)
  --prompt TEXT            what to generate
  --neg_prompt TEXT        negative prompt (default: the official one of the task)
  --image FILE             i2v / flf2v: the first frame (alias --first_frame)
  --last_image FILE        flf2v: the last frame (alias --last_frame)
  --size W*H               t2v: the video size; i2v / flf2v: the pixel budget W*H, the
                           aspect follows the image (default 1280*720); a plain number
                           is a pixel budget
  --frame_num N            frames, 4n+1 (default 81)
  --clips N                clips one after another into the same file (default 1); for
                           i2v / flf2v each continues from the last frame of the one
                           before, whose repeat is left out; clip k uses seed + k
  --keyframes A,B,C,...    flf2v: one video through these images (instead of --image and
                           --last_image): segment k (--frame_num frames, seed + k) runs
                           from keyframe k to k+1, each shared keyframe written once
  --segment_prompt TEXT    with --keyframes: the next segment's prompt; repeatable, one per
                           segment (default: --prompt for every segment)
  --sample_steps N         default 50 (i2v: 40)
  --sample_shift X         default 5 (i2v at 480p, 832*480 pixels or fewer: 3; flf2v: 16)
  --sample_guide_scale X   classifier-free guidance scale (default 5)
  --sample_solver NAME     unipc (default), dpm++, euler; for step-distilled models
                           distill (LightX2V's few-step sampler) or renoise (CausVid /
                           Self-Forcing's), which default to 4 steps, shift 5, guidance 1
  --timesteps LIST         distill / renoise: the denoising steps, e.g. 1000,750,500,250
  --cache NAME             step caching: none (default), teacache, magcache (fewer block
                           evaluations in the many-step modes) or easycache (reuses whole
                           predictions; no calibration: any model, LoRA or step count);
                           not exact
  --cache_threshold X      higher skips more; default: the method's published one
  --cache_teacache_ret_steps true|false
                           teacache: decide on the time projection from step 5 to the
                           end (true, default) or on the time embedding from step 1 to
                           the one before last
  --cache_max_skips N      magcache: K, reused steps in a row at most (0: default 2)
  --cache_retention_ratio X
                           magcache: the share of steps that always run first, 0..1
                           (-1: default 0.2)
  --cache_warmup_steps N   easycache: the steps that always run first (-1: default 10)
  --lora PATH[:STRENGTH]   a LoRA for the DiT (strength 1 by default); repeatable (one
                           file each, its path may hold commas), applied in order
  --lora_mode NAME         merge (default: into the weights at load) or runtime (beside
                           the weights, as fp8 models need)
  --base_seed N            noise seed (default: random; the seed used is printed)
  --device DEV             cpu (default), cuda, cuda:N; with --keyframes a comma-separated
                           list (cuda:0,cuda:1): one pipeline per device, the segments
                           made in parallel and written in order
  --dtype NAME             auto (default), float32, bfloat16, float16, or fp8 (fast mode: bf16 with
                           the DiT's block linear layers in fp8 e4m3; GPUs with fp8 tensor cores)
  --attention NAME         the DiT's self-attention: exact (default), fp8 (cuDNN's 8-bit SDPA;
                           Hopper and newer GPUs) or int8 (our 8-bit integer kernel; Hopper
                           only); the 8-bit ones opt-in and lossy, with any CUDA dtype
  --memory_mode NAME       how the models share the device memory:
                             resident (default)  every model stays on the device
                             sequential          each model visits the device for its phase
                             text-encoder-cpu    umT5 runs on the CPU, the rest resident
                             block-swap          the DiT blocks stream from pinned host
                                                 memory, two on the device at a time; umT5
                                                 on the CPU (for GPUs smaller than the
                                                 weights)
  --offload_model true     same as --memory_mode sequential
  --t5_cpu                 same as --memory_mode text-encoder-cpu
  --report_memory          print the device's peak memory (allocated and reserved by
                           libtorch) when done
  --save_file FILE         output .y4m (default: the task and seed, e.g. i2v-42.y4m)
  --y4m_chroma 420|444     chroma subsampling of the output (default 420)
)";

// Joins the values of a repeatable flag whose values may hold commas.
const std::string kListSeparator = "\x1f";

std::vector<std::string> flag_values(const std::map<std::string, std::string>& flags, const std::string& name) {
  std::vector<std::string> values;
  auto it = flags.find(name);
  if (it == flags.end()) return values;
  size_t begin = 0;
  for (size_t end; (end = it->second.find(kListSeparator, begin)) != std::string::npos; begin = end + 1)
    values.push_back(it->second.substr(begin, end - begin));
  values.push_back(it->second.substr(begin));
  return values;
}

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "wan-generate: %s\n\n%s", message.c_str(), kUsage);
  std::exit(2);
}

std::map<std::string, std::string> parse_flags(int argc, char** argv) {
  static const std::map<std::string, std::string> aliases = {{"--first_frame", "--image"},
                                                             {"--last_frame", "--last_image"}};
  static const char* switches[] = {"--t5_cpu", "--report_memory", "--help"};
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i], value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) value = name.substr(eq + 1), name = name.substr(0, eq);
    if (name == "-h") name = "--help";
    if (aliases.count(name)) name = aliases.at(name);
    bool is_switch = false;
    for (const char* s : switches) is_switch = is_switch || name == s;
    if (name.rfind("--", 0) != 0) usage_error("unexpected argument '" + name + "'");
    if (!is_switch && eq == std::string::npos) {
      if (i + 1 >= argc) usage_error(name + " needs a value");
      value = argv[++i];
    }
    if ((name == "--lora" || name == "--segment_prompt") && flags.count(name))
      flags[name] += kListSeparator + value;  // repeatable; paths and prompts may hold commas
    else
      flags[name] = is_switch && eq == std::string::npos ? "true" : value;
  }
  return flags;
}

template <class T>
std::optional<T> optional_number(const std::map<std::string, std::string>& flags, const std::string& name) {
  auto it = flags.find(name);
  if (it == flags.end()) return std::nullopt;
  try {
    size_t used = 0;
    const double v = std::stod(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument("trailing");
    if (std::is_integral<T>::value && v != static_cast<double>(static_cast<int64_t>(v)))
      throw std::invalid_argument("int");
    return static_cast<T>(v);
  } catch (const std::exception&) {
    usage_error(name + " expects a number, got '" + it->second + "'");
  }
}

template <class T>
T number(const std::map<std::string, std::string>& flags, const std::string& name, T fallback) {
  return optional_number<T>(flags, name).value_or(fallback);
}

std::optional<wan::Task> parse_task(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.rfind("t2v", 0) == 0) return wan::Task::TextToVideo;
  if (name.rfind("i2v", 0) == 0) return wan::Task::ImageToVideo;
  if (name.rfind("flf2v", 0) == 0) return wan::Task::FirstLastFrameToVideo;
  usage_error("unknown --task '" + name + "' (expected t2v-14B, t2v-1.3B, i2v-14B or flf2v-14B)");
}

struct Size {
  int width = 0, height = 0;
  int64_t area = 0;
};

Size parse_size(const std::string& text) {
  Size s;
  const size_t sep = text.find_first_of("*x");
  try {
    if (sep == std::string::npos) {
      s.area = std::stoll(text);
    } else {
      s.width = std::stoi(text.substr(0, sep));
      s.height = std::stoi(text.substr(sep + 1));
      s.area = static_cast<int64_t>(s.width) * s.height;
    }
  } catch (const std::exception&) {
    usage_error("--size expects W*H (e.g. 832*480) or a pixel count, got '" + text + "'");
  }
  if (s.area <= 0) usage_error("--size must be positive, got '" + text + "'");
  return s;
}

// A one-line progress display on a terminal, plain lines otherwise.
class ProgressPrinter {
 public:
  ProgressPrinter() : tty_(::isatty(STDERR_FILENO)) {}
  void operator()(const wan::Progress& p) {
    if (tty_) {
      const int width = 30;
      const int filled = p.total_steps > 0 ? width * p.step / p.total_steps : 0;
      std::fprintf(stderr, "\r%-8s [%s%s] %d/%d  %.1fs   ", wan::phase_name(p.phase), std::string(filled, '#').c_str(),
                   std::string(width - filled, '.').c_str(), p.step, p.total_steps, p.elapsed_s);
      if (p.step == p.total_steps) std::fputc('\n', stderr);
    } else if (p.step == p.total_steps || p.phase == wan::Phase::Denoise) {
      std::fprintf(stderr, "%s %d/%d %.1fs\n", wan::phase_name(p.phase), p.step, p.total_steps, p.elapsed_s);
    }
    std::fflush(stderr);
  }

 private:
  bool tty_;
};

// One line with libtorch's peak device memory over the whole run (loading included).
void report_peak_memory(const std::string& device_name) {
  const at::Device device(device_name);
#ifdef WAN_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
    const double gib = double(int64_t{1} << 30);
    std::fprintf(stderr, "peak device memory on %s: %.2f GiB allocated, %.2f GiB reserved\n", device.str().c_str(),
                 stats.allocated_bytes[0].peak / gib, stats.reserved_bytes[0].peak / gib);
    return;
  }
#endif
  std::fprintf(stderr, "peak device memory: not measured on %s (only CUDA devices are)\n", device.str().c_str());
}

int run(int argc, char** argv) {
  const auto flags = parse_flags(argc, argv);
  if (flags.count("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  static const char* known[] = {"--task",
                                "--ckpt_dir",
                                "--prompt",
                                "--neg_prompt",
                                "--image",
                                "--last_image",
                                "--size",
                                "--frame_num",
                                "--sample_steps",
                                "--sample_shift",
                                "--sample_guide_scale",
                                "--sample_solver",
                                "--timesteps",
                                "--cache",
                                "--cache_threshold",
                                "--cache_teacache_ret_steps",
                                "--cache_max_skips",
                                "--cache_retention_ratio",
                                "--cache_warmup_steps",
                                "--lora",
                                "--lora_mode",
                                "--base_seed",
                                "--clips",
                                "--keyframes",
                                "--segment_prompt",
                                "--device",
                                "--dtype",
                                "--attention",
                                "--offload_model",
                                "--t5_cpu",
                                "--memory_mode",
                                "--report_memory",
                                "--save_file",
                                "--y4m_chroma"};
  for (const auto& kv : flags) {
    bool ok = false;
    for (const char* k : known) ok = ok || kv.first == k;
    if (!ok) usage_error("unknown option " + kv.first);
  }
  auto flag = [&](const std::string& name) { return flags.count(name) ? flags.at(name) : std::string(); };
  if (flag("--ckpt_dir").empty()) usage_error("--ckpt_dir is required");

  wan::PipelineOptions options;
  options.model_path = flag("--ckpt_dir");
  for (const std::string& lora : flag_values(flags, "--lora")) options.loras.push_back(wan::parse_lora_spec(lora));
  const std::string lora_mode = flag("--lora_mode");
  if (lora_mode == "runtime")
    options.lora_mode = wan::LoraMode::Runtime;
  else if (!lora_mode.empty() && lora_mode != "merge")
    usage_error("--lora_mode expects merge or runtime, got '" + lora_mode + "'");
  // Several devices serve the segments of --keyframes, one pipeline each.
  std::vector<std::string> devices{options.device};
  if (!flag("--device").empty()) devices = wan::parse_device_list(flag("--device"), "--device");
  options.device = devices[0];
  const bool keyframes = flags.count("--keyframes") > 0;
  if (devices.size() > 1 && !keyframes) usage_error("--device lists several devices: only --keyframes uses them");
  if (!flag("--dtype").empty()) options.dtype = flag("--dtype");
  if (!flag("--attention").empty()) options.attention = flag("--attention");
  const std::string offload = flag("--offload_model");
  if (offload == "true" || offload == "True" || offload == "1")
    options.memory_mode = wan::MemoryMode::Sequential;
  else if (flag("--t5_cpu") == "true")
    options.memory_mode = wan::MemoryMode::TextEncoderCpu;
  if (flags.count("--memory_mode")) {
    if (flags.count("--offload_model") || flags.count("--t5_cpu"))
      usage_error("--memory_mode replaces --offload_model and --t5_cpu; give only one of them");
    options.memory_mode = wan::parse_memory_mode(flag("--memory_mode"));
  }

  ProgressPrinter printer;
  auto pipeline = wan::Pipeline::load(options, [&](const wan::Progress& p) { printer(p); });
  const wan::Task task = pipeline->task();
  if (auto asked = parse_task(flag("--task")); asked && *asked != task)
    usage_error(std::string("--task asks for ") + wan::task_name(*asked) + " but " + options.model_path + " is a " +
                wan::task_name(task) + " checkpoint");

  wan::Request request;
  request.prompt = flag("--prompt");
  if (request.prompt.empty()) usage_error("--prompt is required");
  request.negative_prompt = flag("--neg_prompt");
  if (!flag("--image").empty()) request.image = wan::read_image_file(flag("--image"));
  if (!flag("--last_image").empty()) request.last_image = wan::read_image_file(flag("--last_image"));
  wan::KeyframeSegments segments;
  if (keyframes) {
    if (task != wan::Task::FirstLastFrameToVideo)
      usage_error(std::string("--keyframes needs a first-last-frame-to-video (flf2v) checkpoint; ") +
                  options.model_path + " is a " + wan::task_name(task) + " checkpoint");
    if (request.image || request.last_image || flags.count("--clips"))
      usage_error("--keyframes replaces --image, --last_image and --clips");
    for (const std::string& path : wan::split_keyframe_list(flag("--keyframes")))
      segments.keyframes.push_back(wan::read_image_file(path));
    segments.prompts = flag_values(flags, "--segment_prompt");
    segments.validate();
    request.image = segments.keyframes[0];  // the first segment's images decide the size
    request.last_image = segments.keyframes[1];
  } else if (flags.count("--segment_prompt")) {
    usage_error("--segment_prompt goes with --keyframes");
  }
  const std::string size_text = flag("--size").empty() ? "1280*720" : flag("--size");
  const Size size = parse_size(size_text);
  if (task == wan::Task::TextToVideo && size.width > 0) {
    request.width = size.width;
    request.height = size.height;
  } else {
    request.max_area = size.area;
  }
  request.num_frames = number<int>(flags, "--frame_num", wan::SamplingDefaults{}.num_frames);
  // Unset: the task's defaults for the size (pipeline/model_family.h), as generate.py's.
  request.steps = optional_number<int>(flags, "--sample_steps");
  request.shift = optional_number<double>(flags, "--sample_shift");
  request.guidance_scale = optional_number<double>(flags, "--sample_guide_scale");
  if (!flag("--sample_solver").empty()) request.solver = wan::parse_solver(flag("--sample_solver"));
  request.timesteps = wan::parse_distill_steps(flag("--timesteps"));
  const std::string cache = flag("--cache");
  if (cache == "teacache")
    request.cache.method = wan::CacheMethod::TeaCache;
  else if (cache == "magcache")
    request.cache.method = wan::CacheMethod::MagCache;
  else if (cache == "easycache")
    request.cache.method = wan::CacheMethod::EasyCache;
  else if (!cache.empty() && cache != "none")
    usage_error("--cache expects none, teacache, magcache or easycache, got '" + cache + "'");
  if (auto t = optional_number<double>(flags, "--cache_threshold"); t && *t != 0) request.cache.threshold = t;
  const std::string ret_steps = flag("--cache_teacache_ret_steps");
  if (ret_steps == "false" || ret_steps == "False" || ret_steps == "0")
    request.cache.teacache_ret_steps = false;
  else if (!ret_steps.empty() && ret_steps != "true" && ret_steps != "True" && ret_steps != "1")
    usage_error("--cache_teacache_ret_steps expects true or false, got '" + ret_steps + "'");
  // 0 / -1 leave the method's default; other values are checked with the request.
  if (auto k = optional_number<int>(flags, "--cache_max_skips"); k && *k != 0) request.cache.max_skips = k;
  if (auto r = optional_number<double>(flags, "--cache_retention_ratio"); r && *r != -1)
    request.cache.retention_ratio = r;
  if (auto w = optional_number<int>(flags, "--cache_warmup_steps"); w && *w != -1) request.cache.warmup_steps = w;
  request.seed = number<int64_t>(flags, "--base_seed", -1);
  // Draw a random seed here so it can be printed (and name the file) up front.
  if (request.seed < 0) request.seed = wan::draw_random_seed();
  const int64_t clips = number<int64_t>(flags, "--clips", 1);
  if (clips < 1 || clips > 100000) usage_error("--clips expects 1 to 100000, got " + flag("--clips"));
  request = pipeline->with_defaults(request);  // validates too

  const auto [width, height] = pipeline->output_size(request);
  std::string save_file = flag("--save_file");
  const std::string chroma = flag("--y4m_chroma").empty() ? "420" : flag("--y4m_chroma");
  if (chroma != "420" && chroma != "444") usage_error("--y4m_chroma expects 420 or 444");
  std::unique_ptr<wan::Y4mWriter> writer;  // opened on the first frames: a failed run leaves no file

  auto write = [&](const at::Tensor& frames) {
    if (!writer) {
      if (save_file.empty())
        save_file = std::string(wan::task_name(task)) + "-" + std::to_string(request.seed) + ".y4m";
      writer = std::make_unique<wan::Y4mWriter>(save_file, width, height, kFps,
                                                chroma == "444" ? wan::Y4mChroma::C444 : wan::Y4mChroma::C420jpeg);
    }
    for (int64_t i = 0; i < frames.size(0); ++i) writer->write_frame(frames[i].data_ptr<uint8_t>());
  };
  wan::GenerationCallbacks callbacks;
  callbacks.on_progress = [&](const wan::Progress& p) { printer(p); };
  wan::ClipContinuation continuation;
  callbacks.on_frames = [&](const at::Tensor& decoded, int64_t first) {
    write(continuation.frames_to_emit(decoded, first));
  };
  std::fprintf(stderr, "%s %dx%d, %d frames, seed %lld, %d steps, shift %g, guidance %g\n", wan::task_name(task), width,
               height, request.num_frames, static_cast<long long>(request.seed), *request.steps, *request.shift,
               *request.guidance_scale);
  wan::CancelToken cancel;
  if (keyframes) {
    std::vector<std::shared_ptr<wan::Pipeline>> pipelines{pipeline};
    for (size_t i = 1; i < devices.size(); ++i) {
      options.device = devices[i];
      pipelines.push_back(wan::Pipeline::load(options));
    }
    wan::OrderedSegments ordered(int(pipelines.size()), segments.segments());
    std::mutex print_mutex;  // the segments' workers print from their own threads
    wan::KeyframeVideoCallbacks video;
    video.request = [&](int segment) {
      wan::Request next = segments.request(request, segment);
      next.seed = static_cast<int64_t>((static_cast<uint64_t>(request.seed) + segment) & INT64_MAX);
      return next;
    };
    video.on_segment_start = [&](int segment, const wan::Request& r) {
      std::lock_guard<std::mutex> lock(print_mutex);
      std::fprintf(stderr, "segment %d of %d, seed %lld\n", segment + 1, segments.segments(),
                   static_cast<long long>(r.seed));
    };
    video.generation = [&](int) {
      wan::GenerationCallbacks c;
      c.on_progress = [&](const wan::Progress& p) {
        std::lock_guard<std::mutex> lock(print_mutex);
        printer(p);
      };
      return c;
    };
    video.on_frames = [&](int, const at::Tensor& frames) { write(frames); };
    wan::generate_keyframe_video(pipelines, ordered, video);
  }
  for (int64_t clip = 0; clip < clips && !keyframes; ++clip) {
    wan::Request next = continuation.next(request);
    next.seed = static_cast<int64_t>((static_cast<uint64_t>(request.seed) + clip) & INT64_MAX);
    if (clips > 1)
      std::fprintf(stderr, "clip %lld of %lld, seed %lld\n", static_cast<long long>(clip + 1),
                   static_cast<long long>(clips), static_cast<long long>(next.seed));
    const wan::GenerationResult result = pipeline->generate(next, callbacks, cancel);
    std::fprintf(stderr, "%d DiT forwards, %d of them reused cached results\n", result.forwards,
                 result.forwards_reused);
  }
  writer->close();
  std::fprintf(stderr, "wrote %s (%d frames, %d fps)\n", save_file.c_str(), writer->frames_written(), kFps);
  if (flags.count("--report_memory")) report_peak_memory(devices[0]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wan-generate: %s\n", e.what());
    return 1;
  }
}
