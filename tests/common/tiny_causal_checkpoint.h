// A tiny causal checkpoint folder in Self-Forcing's layout for the live-mode tests, made
// from the e2e-i2v-tiny fixture's checkpoint: its DiT turned text-to-video (the image
// embedding and image cross-attention dropped, the patch embedding cut to its first 16 input
// channels, the noise latent's) and written as self_forcing_dmd.pt ({"generator_ema": names
// under "model."}) with its config.json, the fixture's VAE, umT5 and tokenizer linked beside it. (The
// dit-t2v-tiny fixture's DiT reads 32-wide text; the fixture's umT5 writes 4096.)
#pragma once
#include <filesystem>
#include <fstream>
#include <string>

#include <ATen/ATen.h>

#include "models/weights/pth_writer.h"
#include "models/weights/safetensors.h"

namespace wan::test {

// Writes the folder `dir` (created) from `e2e_ckpt` (tests/fixtures/e2e-i2v-tiny/ckpt);
// returns the path of its self_forcing_dmd.pt.
inline std::string make_tiny_causal_checkpoint(const std::filesystem::path& e2e_ckpt,
                                               const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const TensorMap i2v = load_safetensors((e2e_ckpt / "diffusion_pytorch_model.safetensors").string());
  TensorMap t2v;
  for (const auto& [name, t] : i2v) {
    if (name.rfind("img_emb.", 0) == 0 || name.find("_img.") != std::string::npos) continue;
    const at::Tensor f = t.to(at::kFloat);
    t2v["model." + name] = name == "patch_embedding.weight" ? f.narrow(1, 0, 16).contiguous() : f;
  }
  const fs::path pt = dir / "self_forcing_dmd.pt";
  save_pth_dicts(pt.string(), {{"generator_ema", t2v}});
  // The head count cannot be read off a 32-wide DiT: its config.json, as a t2v model.
  std::ofstream(dir / "config.json")
      << R"({"_class_name": "WanModel", "model_type": "t2v", "dim": 32, "ffn_dim": 64, "freq_dim": 256, "in_dim": 16, )"
      << R"("out_dim": 16, "num_heads": 2, "num_layers": 2, "text_len": 512, "eps": 1e-06})";
  for (const char* file : {"Wan2.1_VAE.pth", "models_t5_umt5-xxl-enc-bf16.pth", "google"}) {
    std::error_code ec;
    fs::remove_all(dir / file, ec);
    fs::create_symlink(fs::absolute(e2e_ckpt / file), dir / file);
  }
  return pt.string();
}

}  // namespace wan::test
