// Where the models of a checkpoint folder are: the official Wan2.1 layout
// (config.json + diffusion_pytorch_model*.safetensors, Wan2.1_VAE.pth, the
// umT5 and CLIP .pth files, google/umt5-xxl/spiece.model) or the diffusers
// one (transformer/, vae/, text_encoder/, tokenizer/, image_encoder/).
#pragma once
#include <string>

namespace wan {

struct CheckpointFiles {
  std::string dit;        // folder (or file) for load_dit
  std::string vae;        // file for load_vae
  std::string t5;         // file or folder for the umT5 encoder
  std::string tokenizer;  // SentencePiece model
  std::string clip;       // CLIP file; "" when the folder has none (t2v)
};

// `path`: the folder, or a single-file DiT (.safetensors, or a causal training checkpoint
// .pt / .pth / .ckpt) whose folder holds the other models. Throws wan::Error naming the folder and every missing file.
CheckpointFiles locate_checkpoint_files(const std::string& path);

}  // namespace wan
