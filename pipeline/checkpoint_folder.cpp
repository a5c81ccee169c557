#include "pipeline/checkpoint_folder.h"

#include <filesystem>
#include <vector>

#include "models/common/error.h"

namespace wan {
namespace fs = std::filesystem;
namespace {

// The first candidate (relative to the folder) that exists, or "".
std::string first_existing(const fs::path& folder, const std::vector<std::string>& candidates) {
  std::error_code ec;
  for (const auto& c : candidates)
    if (fs::exists(folder / c, ec)) return (folder / c).string();
  return "";
}

}  // namespace

CheckpointFiles locate_checkpoint_files(const std::string& path) {
  std::error_code ec;
  // A single DiT file (ComfyUI / LightX2V distilled or fp8 releases, or a causal training
  // checkpoint such as Self-Forcing's self_forcing_dmd.pt): the other models are looked for
  // in its folder.
  const std::string extension = fs::path(path).extension().string();
  const bool dit_file = fs::is_regular_file(path, ec) && (extension == ".safetensors" || extension == ".pt" ||
                                                          extension == ".pth" || extension == ".ckpt");
  const std::string folder = dit_file ? fs::path(path).parent_path().string() : path;
  if (!fs::is_directory(folder, ec))
    throw Error("model path '" + folder +
                "' is not a folder: give the checkpoint folder (e.g. Wan2.1-I2V-14B-480P) holding the DiT, VAE, "
                "text encoder and tokenizer");
  const fs::path dir(folder);
  CheckpointFiles f;
  f.dit = dit_file ? path : fs::exists(dir / "transformer", ec) ? (dir / "transformer").string() : folder;
  f.vae = first_existing(dir, {"Wan2.1_VAE.pth", "vae/diffusion_pytorch_model.safetensors", "Wan2.1_VAE.safetensors"});
  f.t5 = first_existing(dir, {"models_t5_umt5-xxl-enc-bf16.pth", "text_encoder"});
  f.tokenizer = first_existing(dir, {"google/umt5-xxl/spiece.model", "tokenizer/spiece.model"});
  f.clip = first_existing(
      dir, {"models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth", "image_encoder/model.safetensors"});

  std::string missing;
  if (f.vae.empty()) missing += " Wan2.1_VAE.pth (the VAE);";
  if (f.t5.empty()) missing += " models_t5_umt5-xxl-enc-bf16.pth (the umT5 text encoder);";
  if (f.tokenizer.empty()) missing += " google/umt5-xxl/spiece.model (the tokenizer);";
  if (!missing.empty()) throw Error("checkpoint folder " + folder + " lacks" + missing.substr(0, missing.size() - 1));
  return f;
}

}  // namespace wan
