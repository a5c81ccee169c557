// Loading the Wan2.1 VAE from the checkpoint files users have: the official
// Wan2.1_VAE.pth (torch.save), ComfyUI's wan_2.1_vae.safetensors (official
// names) and diffusers' vae/diffusion_pytorch_model.safetensors
// (AutoencoderKLWan names, converted through checkpoint_layout).
#pragma once
#include <string>

#include <ATen/ATen.h>

#include "models/vae/wan_vae.h"
#include "models/weights/load_options.h"

namespace wan {

// The width (`dim`) and z_dim are read off the weights' shapes, the rest of
// the architecture is the released one; a diffusers config.json next to the
// file supplies its latents_mean / latents_std and level layout.
WanVAE load_vae(const std::string& path, const LoadOptions& options = {});

// The same for tensors already in memory (any supported layout); `what` names them in errors.
WanVAE load_vae(TensorMap weights, const vae::VAEConfig& base_config, const std::string& what,
                const LoadOptions& options = {});

}  // namespace wan
