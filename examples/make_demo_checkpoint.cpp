// wan-make-demo-checkpoint DIR: writes a tiny image-to-video checkpoint
// folder with random weights, in the official Wan2.1 layout and file formats,
// for demos and tests of the tools and the element (the videos are noise).
// The shapes (and the tokenizer) come from a template folder: by default the
// tiny reference checkpoint of the test fixtures.
#include <cstdio>
#include <filesystem>
#include <string>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "models/common/error.h"
#include "models/weights/checkpoint_file.h"
#include "models/weights/pth_writer.h"
#include "models/weights/safetensors.h"

namespace fs = std::filesystem;

namespace {

const char* kUsage =
    "usage: wan-make-demo-checkpoint DIR [--template CKPT_DIR] [--seed N]\n"
    "  Writes a tiny random-weights i2v checkpoint folder to DIR (created if needed).\n"
    "  --template  folder whose tensor shapes and tokenizer are copied (default: " WAN_DEMO_TEMPLATE
    ")\n"
    "  --seed      seed of the random weights (default 0)\n";

// Same names, shapes and storage dtypes; new values with each tensor's own mean and spread.
wan::TensorMap rerandomize(const wan::TensorMap& weights, at::Generator& gen) {
  wan::TensorMap out;
  for (const auto& [name, t] : weights) {
    if (!t.is_floating_point()) {
      out[name] = t.clone();
      continue;
    }
    const at::Tensor f = t.to(at::kFloat);
    const double mean = f.mean().item<double>();
    const double spread = f.numel() > 1 ? f.std().item<double>() : 0.0;
    out[name] = (at::randn(f.sizes(), gen, at::kFloat) * spread + mean).to(t.scalar_type());
  }
  return out;
}

void copy_into(const fs::path& from, const fs::path& to) {
  fs::create_directories(to.parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

int run(int argc, char** argv) {
  std::string dir, templ = WAN_DEMO_TEMPLATE;
  uint64_t seed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--template" && i + 1 < argc) {
      templ = argv[++i];
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
    } else if (a.rfind("--", 0) != 0 && dir.empty()) {
      dir = a;
    } else {
      std::fprintf(stderr, "wan-make-demo-checkpoint: unexpected argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (dir.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const fs::path from(templ), to(dir);
  if (!fs::exists(from / "config.json"))
    throw wan::Error("template " + templ + " is not a checkpoint folder (no config.json); pass --template");
  fs::create_directories(to);
  at::Generator gen = at::detail::createCPUGenerator(seed);

  copy_into(from / "config.json", to / "config.json");
  copy_into(from / "google/umt5-xxl/spiece.model", to / "google/umt5-xxl/spiece.model");
  for (const char* name : {"diffusion_pytorch_model.safetensors"}) {
    const auto weights = rerandomize(wan::load_checkpoint_file((from / name).string()), gen);
    wan::save_safetensors((to / name).string(), weights, {{"format", "pt"}});
  }
  for (const char* name : {"Wan2.1_VAE.pth", "models_t5_umt5-xxl-enc-bf16.pth",
                           "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"}) {
    const auto weights = rerandomize(wan::load_checkpoint_file((from / name).string()), gen);
    wan::save_pth((to / name).string(), weights);
  }
  std::printf("wrote a demo i2v checkpoint to %s\n", dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wan-make-demo-checkpoint: %s\n", e.what());
    return 1;
  }
}
