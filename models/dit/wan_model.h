// The Wan2.1 diffusion transformer (the reference's WanModel) for t2v, i2v and flf2v:
// children are registered under the checkpoint's names, so one wan::load_state_dict call
// loads an official state dict.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <memory>
#include <vector>

#include "models/common/parameter_init.h"
#include "models/dit/causal_cache.h"
#include "models/dit/dit_block.h"
#include "models/dit/dit_config.h"
#include "models/dit/dit_embeddings.h"
#include "models/dit/dit_head.h"
#include "models/dit/dit_image_embedding.h"
#include "models/dit/self_attention_kind.h"

namespace wan {
namespace dit {
class BlockSwapper;
}
class RuntimeLoras;

// Called after every transformer block; throwing from it abandons the forward pass
// (how a pipeline cancels within one block).
using BetweenBlocks = std::function<void()>;

// Step caching (pipeline/step_cache.h) decides per forward whether the transformer blocks
// run. The forward reports its time embedding e [B, dim] and projection e0 [B, 6, dim];
// reuse() returns the residual to add to the patch embedding x0 instead of running the
// blocks (the head still runs on this forward's e), or an undefined tensor to run them,
// after which computed() receives their residual x - x0 (float32 [B, seq_len, dim]).
struct BlockReuse {
  virtual ~BlockReuse() = default;
  virtual at::Tensor reuse(const at::Tensor& e, const at::Tensor& e0) = 0;
  virtual void computed(const at::Tensor& residual) = 0;
};

struct WanModelImpl : torch::nn::Module {
  // options: the device to build on and the compute dtype (see set_compute_dtype); blocks
  // move there one by one, so the host never holds the whole float32 model. Uninitialized
  // (weights loaded next, or filled by a benchmark) allocates the Linear layers on the device.
  explicit WanModelImpl(const DiTConfig& config, const at::TensorOptions& options = {},
                        ParameterInit init = ParameterInit::Random);

  // x[i] [C_x, F, H, W] noisy latents (C_x + C_y = in_dim; F, H, W multiples of the patch
  // size); t [B] timesteps; context[i] [L_i <= text_len, text_dim]; seq_len >= the token
  // count of every sample (shorter samples are zero-padded; padding never acts as a key);
  // clip_fea [B (i2v) or 2B (flf2v), 257, 1280] and y[i] [C_y, F, H, W] for i2v / flf2v
  // (undefined / empty for t2v). Returns [out_dim, F, H, W] float32 per sample.
  std::vector<at::Tensor> forward(const std::vector<at::Tensor>& x, const at::Tensor& t,
                                  const std::vector<at::Tensor>& context, int64_t seq_len,
                                  const at::Tensor& clip_fea = {}, const std::vector<at::Tensor>& y = {},
                                  const BetweenBlocks& between_blocks = {}, BlockReuse* reuse = nullptr);

  // The causal forward of Self-Forcing (its CausalWanModel with a KV cache, same weights) on
  // one chunk of a t2v video, batch 1: x [C, n, H, W] the chunk's latents, t [n] one
  // timestep per frame, context [L <= text_len, text_dim] (read while `cache` has no
  // projections of it), start_frame the absolute index of the chunk's first frame (its
  // RoPE positions and where `cache` places it: the frame after the cached ones for a new
  // chunk, or the last chunk's again). The chunk's queries attend to every cached frame
  // and to its own frames; its keys and values replace its previous ones in `cache`.
  // Returns the flow prediction [out_dim, n, H, W] float32.
  at::Tensor forward_chunk(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context, int64_t start_frame,
                           dit::CausalCache& cache, const BetweenBlocks& between_blocks = {});

  // Runs the matrix-heavy layers (patch, text and image embeddings, attention projections,
  // FFNs) in `dtype` (e.g. bf16 on CUDA); time embedding, modulation, norms, RoPE and head
  // stay float32 as in the reference (they are never converted).
  void set_compute_dtype(at::ScalarType dtype);

  const DiTConfig& config() const { return config_; }

  // Block swap, for devices smaller than the model: the transformer blocks move to host
  // memory and each visits `device` for its turn in the forward pass (two blocks' worth of
  // device memory, see dit::BlockSwapper); every other layer moves to `device`. Call once,
  // after loading; later to() calls would undo it.
  void stream_blocks_from_host(const at::Device& device);
  const dit::BlockSwapper* block_swapper() const { return block_swapper_.get(); }
  // Block swap: the two slots' device memory back until the next forward (a no-op otherwise).
  void free_block_slots();

  torch::nn::Conv3d patch_embedding{nullptr};
  torch::nn::Sequential text_embedding{nullptr};   // Linear, GELU (tanh), Linear
  torch::nn::Sequential time_embedding{nullptr};   // Linear, SiLU, Linear
  torch::nn::Sequential time_projection{nullptr};  // SiLU, Linear(dim, 6 dim)
  torch::nn::ModuleList blocks{nullptr};
  dit::Head head{nullptr};
  dit::ImageEmbedding img_emb{nullptr};  // i2v / flf2v only

  // On CUDA each block's q, k and v run as one GEMM from one buffer: puts them there now, at
  // load, rather than in the first forward.
  void stack_qkv();

  // The fp8 fast mode: the blocks' linear layers in e4m3 (quantised on `compute`, left where
  // they are); embeddings, modulation and head stay as they are. Before block swap is set up.
  void quantize_fp8(const at::Device& compute);
  // Which attention the blocks' self-attention runs (exact or 8-bit).
  void set_self_attention(SelfAttentionKind kind);

  // LoRAs applied at run time (lora_adapters.h), when the model was loaded with them.
  std::shared_ptr<RuntimeLoras> runtime_loras;
  // Sets their strengths (one per file), effective from the next forward, block swap included.
  void set_lora_strengths(const std::vector<double>& strengths);

 private:
  // Concatenates y, patch-embeds every sample and pads it to seq_len tokens: [B, seq_len, dim].
  at::Tensor embed_video(const std::vector<at::Tensor>& x, const std::vector<at::Tensor>& y, int64_t seq_len,
                         std::vector<dit::PatchGrid>* grids);
  // Text (padded to text_len) and, for i2v / flf2v, image tokens in front: [B, Lc, dim].
  at::Tensor embed_context(const std::vector<at::Tensor>& context, const at::Tensor& clip_fea);
  std::vector<at::Tensor> unpatchify(const at::Tensor& x, const std::vector<dit::PatchGrid>& grids) const;
  // Every transformer block on h in turn (block swap and between_blocks included); `cache`:
  // the causal forward's, h then being a chunk starting at absolute token start_token.
  at::Tensor run_blocks(at::Tensor h, const at::Tensor& e0, const dit::TokenCounts& tokens,
                        const std::vector<dit::RopeRotation>& rotations, const at::Tensor& ctx,
                        const BetweenBlocks& between_blocks, dit::CausalCache* cache = nullptr,
                        int64_t start_token = 0);

  DiTConfig config_;
  dit::RopeCache rope_;
  std::shared_ptr<dit::BlockSwapper> block_swapper_;  // null unless the blocks stream from the host
};
TORCH_MODULE(WanModel);

}  // namespace wan
