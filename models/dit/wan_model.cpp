#include "models/dit/wan_model.h"

#include <torch/nn/modules/activation.h>

#include <algorithm>
#include <optional>

#include <c10/util/StringUtil.h>

#include "models/common/error.h"
#include "models/dit/block_swap.h"
#include "models/dit/lora_adapters.h"
#include "models/dit/precision.h"

namespace wan {
namespace {

void fail(const std::string& what) { throw Error("DiT forward: " + what); }

}  // namespace

WanModelImpl::WanModelImpl(const DiTConfig& config, const at::TensorOptions& options, ParameterInit init)
    : config_(config), rope_(config.head_dim(), config.rope_max_seq_len) {
  config_.validate();
  std::optional<SkipParameterInit> skip_init;
  // float32 first: the float32 islands stay so, set_compute_dtype converts the rest block by block.
  if (init == ParameterInit::Uninitialized) skip_init.emplace(options.device(), at::kFloat);
  const DiTConfig& c = config_;
  const auto& p = c.patch_size;
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv3d(torch::nn::Conv3dOptions(c.in_dim, c.dim, {p[0], p[1], p[2]}).stride({p[0], p[1], p[2]})));
  text_embedding = register_module(
      "text_embedding",
      torch::nn::Sequential(make_linear(c.text_dim, c.dim),
                            torch::nn::GELU(torch::nn::GELUOptions().approximate("tanh")), make_linear(c.dim, c.dim)));
  time_embedding = register_module(
      "time_embedding",
      torch::nn::Sequential(make_linear(c.freq_dim, c.dim), torch::nn::SiLU(), make_linear(c.dim, c.dim)));
  time_projection =
      register_module("time_projection", torch::nn::Sequential(torch::nn::SiLU(), make_linear(c.dim, 6 * c.dim)));
  const at::ScalarType dtype = options.has_dtype() ? c10::typeMetaToScalarType(options.dtype()) : at::kFloat;
  const at::Device device = options.device();
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) {
    // The blocks' Linears directly in the compute dtype: no float32 block is ever made, and
    // in host memory their never-written values take none (the fp8 load replaces them).
    std::optional<SkipParameterInit> block_init;
    if (init == ParameterInit::Uninitialized) block_init.emplace(options.device(), dtype);
    dit::DiTBlock block(c);
    block_init.reset();
    block->set_compute_dtype(dtype);
    block->to(device);
    blocks->push_back(block);
  }
  head = register_module("head", dit::Head(c.dim, c.out_dim, c.patch_size, c.eps));
  if (c.has_image_input())
    img_emb = register_module("img_emb", dit::ImageEmbedding(c.dim, c.model_type == DiTModelType::FLF2V));
  set_compute_dtype(dtype);
  to(device);
}

void WanModelImpl::set_compute_dtype(at::ScalarType dtype) {
  patch_embedding->to(dtype);
  text_embedding->to(dtype);
  if (!img_emb.is_empty()) img_emb->set_compute_dtype(dtype);
  for (const auto& block : *blocks) block->as<dit::DiTBlock>()->set_compute_dtype(dtype);
}

void WanModelImpl::stream_blocks_from_host(const at::Device& device) {
  if (block_swapper_) throw Error("DiT: the blocks already stream from host memory");
  for (const auto& child : named_children())
    if (child.key() != "blocks") child.value()->to(device);
  // Stacked now, q, k and v stay so in every slot.
  stack_qkv();
  block_swapper_ = std::make_shared<dit::BlockSwapper>(blocks, device);
}

void WanModelImpl::free_block_slots() {
  if (block_swapper_) block_swapper_->free_slots();
}

void WanModelImpl::stack_qkv() {
  for (const auto& block : *blocks) block->as<dit::DiTBlock>()->self_attn->stacked_qkv();
}

void WanModelImpl::quantize_fp8(const at::Device& compute) {
  if (block_swapper_) throw Error("DiT: fp8 quantisation must come before block swap is set up");
  for (const auto& block : *blocks) block->as<dit::DiTBlock>()->quantize_fp8(compute);
}

void WanModelImpl::set_self_attention(SelfAttentionKind kind) {
  for (const auto& block : *blocks) block->as<dit::DiTBlock>()->self_attn->kind = kind;
}

void WanModelImpl::set_lora_strengths(const std::vector<double>& strengths) {
  if (!runtime_loras) throw Error("DiT: no LoRAs were loaded to run at run time");
  if (strengths == runtime_loras->strengths()) return;
  runtime_loras->set_strengths(strengths);
  // Full deltas changed the blocks' host copies; the slots may hold the old values.
  if (block_swapper_ && runtime_loras->patches_parameters()) block_swapper_->host_copies_changed();
}

at::Tensor WanModelImpl::embed_video(const std::vector<at::Tensor>& x, const std::vector<at::Tensor>& y,
                                     int64_t seq_len, std::vector<dit::PatchGrid>* grids) {
  const DiTConfig& c = config_;
  const auto& p = c.patch_size;
  const at::Tensor& w = patch_embedding->weight;
  std::vector<at::Tensor> tokens;
  for (size_t i = 0; i < x.size(); ++i) {
    at::Tensor u = x[i];
    if (u.dim() != 4) fail("x[" + std::to_string(i) + "] must be [C, F, H, W], got " + c10::str(u.sizes()));
    if (!y.empty()) {
      if (y[i].dim() != 4 || y[i].sizes().slice(1) != u.sizes().slice(1))
        fail("y[" + std::to_string(i) + "] " + c10::str(y[i].sizes()) + " must match x[" + std::to_string(i) + "] " +
             c10::str(u.sizes()) + " in F, H, W");
      u = at::cat({u.to(w.device()), y[i].to(w.device(), u.scalar_type())}, 0);
    }
    if (u.size(0) != c.in_dim)
      fail("sample " + std::to_string(i) + " has " + std::to_string(u.size(0)) + " channels (x" +
           (y.empty() ? "" : " + y") + "), the model takes in_dim = " + std::to_string(c.in_dim));
    for (int a = 0; a < 3; ++a)
      if (u.size(a + 1) % p[a] != 0)
        fail("x[" + std::to_string(i) + "] " + c10::str(x[i].sizes()) +
             ": F, H, W must be multiples of the patch size [" + std::to_string(p[0]) + ", " + std::to_string(p[1]) +
             ", " + std::to_string(p[2]) + "]");
    const dit::PatchGrid grid{u.size(1) / p[0], u.size(2) / p[1], u.size(3) / p[2]};
    if (grid.tokens() > seq_len)
      fail("sample " + std::to_string(i) + " has " + std::to_string(grid.tokens()) + " tokens, more than seq_len " +
           std::to_string(seq_len));
    grids->push_back(grid);
    // [1, dim, f, h, w] -> [tokens, dim], zero rows up to seq_len; the residual stream is float32.
    const at::Tensor embedded =
        patch_embedding->forward(u.to(w.device(), w.scalar_type()).unsqueeze(0)).flatten(2).transpose(1, 2)[0];
    tokens.push_back(
        at::cat({embedded.to(at::kFloat), embedded.new_zeros({seq_len - grid.tokens(), c.dim}, at::kFloat)}));
  }
  return at::stack(tokens);
}

at::Tensor WanModelImpl::embed_context(const std::vector<at::Tensor>& context, const at::Tensor& clip_fea) {
  const DiTConfig& c = config_;
  const at::Tensor& w = patch_embedding->weight;
  std::vector<at::Tensor> padded;
  for (size_t i = 0; i < context.size(); ++i) {
    const at::Tensor& u = context[i];
    if (u.dim() != 2 || u.size(1) != c.text_dim || u.size(0) > c.text_len)
      fail("context[" + std::to_string(i) + "] must be [L <= text_len " + std::to_string(c.text_len) + ", text_dim " +
           std::to_string(c.text_dim) + "], got " + c10::str(u.sizes()));
    // Padding rows go through text_embedding too and stay visible to the cross-attention.
    padded.push_back(at::cat({u.to(w.device(), at::kFloat),
                              at::zeros({c.text_len - u.size(0), c.text_dim}, w.options().dtype(at::kFloat))}));
  }
  at::Tensor text = at::stack(padded);
  const auto* text_in = text_embedding[0]->as<torch::nn::Linear>();
  text = text_embedding->forward(text.to(text_in->weight.scalar_type()));
  if (img_emb.is_empty()) return text;

  const int64_t images = img_emb->images_per_sample();
  if (clip_fea.dim() != 3 || clip_fea.size(0) != images * static_cast<int64_t>(context.size()) ||
      clip_fea.size(2) != dit::ImageEmbeddingImpl::kFeatureDim ||
      (images == 2 && clip_fea.size(1) != dit::ImageEmbeddingImpl::kTokensPerImage))
    fail("clip_fea must be [" + std::to_string(images) + " x batch " + std::to_string(context.size()) + ", " +
         (images == 2 ? std::to_string(dit::ImageEmbeddingImpl::kTokensPerImage) : std::string("tokens")) + ", " +
         std::to_string(dit::ImageEmbeddingImpl::kFeatureDim) + "] for a " + to_string(c.model_type) + " model, got " +
         c10::str(clip_fea.sizes()));
  const at::Tensor image = img_emb->forward(clip_fea.to(w.device()));
  return at::cat({image, text.to(at::kFloat)}, 1);
}

std::vector<at::Tensor> WanModelImpl::unpatchify(const at::Tensor& x, const std::vector<dit::PatchGrid>& grids) const {
  const auto& p = config_.patch_size;
  const int64_t c = config_.out_dim;
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < static_cast<int64_t>(grids.size()); ++i) {
    const dit::PatchGrid& g = grids[i];
    // Token channels are (p, q, r, c); output is c, (f p), (h q), (w r).
    out.push_back(x[i].slice(0, 0, g.tokens())
                      .reshape({g.f, g.h, g.w, p[0], p[1], p[2], c})
                      .permute({6, 0, 3, 1, 4, 2, 5})
                      .reshape({c, g.f * p[0], g.h * p[1], g.w * p[2]})
                      .to(at::kFloat));
  }
  return out;
}

std::vector<at::Tensor> WanModelImpl::forward(const std::vector<at::Tensor>& x, const at::Tensor& t,
                                              const std::vector<at::Tensor>& context, int64_t seq_len,
                                              const at::Tensor& clip_fea, const std::vector<at::Tensor>& y,
                                              const BetweenBlocks& between_blocks, BlockReuse* reuse) {
  const DiTConfig& c = config_;
  const int64_t batch = static_cast<int64_t>(x.size());
  if (batch == 0) fail("x is empty");
  if (static_cast<int64_t>(context.size()) != batch)
    fail(std::to_string(context.size()) + " contexts for " + std::to_string(batch) + " latents");
  if (!t.defined() || t.dim() > 1 || (t.numel() != batch && t.numel() != 1))
    fail("t must hold one timestep per sample (" + std::to_string(batch) + "), got " +
         (t.defined() ? c10::str(t.sizes()) : std::string("none")));
  if (c.has_image_input()) {
    if (!clip_fea.defined() || static_cast<int64_t>(y.size()) != batch)
      fail("a " + to_string(c.model_type) + " model needs clip_fea and one y per sample");
  } else if (clip_fea.defined()) {
    fail("a t2v model takes no clip_fea");
  }
  if (!y.empty() && static_cast<int64_t>(y.size()) != batch)
    fail(std::to_string(y.size()) + " conditionings y for " + std::to_string(batch) + " latents");

  const at::Device device = patch_embedding->weight.device();
  std::vector<dit::PatchGrid> grids;
  at::Tensor h = embed_video(x, y, seq_len, &grids);
  std::vector<dit::RopeRotation> rotations;
  std::vector<int64_t> lens;
  for (const auto& g : grids) {
    rotations.push_back(rope_.rotation(g, device));
    lens.push_back(g.tokens());
  }
  dit::TokenCounts tokens;
  tokens.cpu = at::tensor(lens, at::kLong);
  tokens.device = tokens.cpu.to(device, /*non_blocking=*/true);
  tokens.max = *std::max_element(lens.begin(), lens.end());

  const at::Tensor e = time_embedding->forward(dit::sinusoidal_time_embedding(c.freq_dim, t.to(device)).to(at::kFloat));
  const at::Tensor e0 = time_projection->forward(e).unflatten(1, {6, c.dim});

  if (reuse) {
    const at::Tensor residual = reuse->reuse(e, e0);
    if (residual.defined()) return unpatchify(head->forward(h + residual, e), grids);
  }
  const at::Tensor x0 = reuse ? h.clone() : at::Tensor();  // the blocks update h in place
  const at::Tensor ctx = embed_context(context, clip_fea);

  h = run_blocks(h, e0, tokens, rotations, ctx, between_blocks);
  if (reuse) reuse->computed(h - x0);
  return unpatchify(head->forward(h, e), grids);
}

at::Tensor WanModelImpl::run_blocks(at::Tensor h, const at::Tensor& e0, const dit::TokenCounts& tokens,
                                    const std::vector<dit::RopeRotation>& rotations, const at::Tensor& ctx,
                                    const BetweenBlocks& between_blocks, dit::CausalCache* cache, int64_t start_token) {
  for (size_t i = 0; i < blocks->size(); ++i) {
    {
      // With block swap, the block's weights occupy a device slot while its lease lives.
      const auto on_device = block_swapper_ ? block_swapper_->lease(i) : dit::BlockSwapper::Lease();
      h = blocks[i]->as<dit::DiTBlock>()->forward(h, e0, tokens, rotations, ctx, cache ? &cache->blocks[i] : nullptr,
                                                  start_token);
    }
    if (between_blocks) between_blocks();
  }
  return h;
}

at::Tensor WanModelImpl::forward_chunk(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                                       int64_t start_frame, dit::CausalCache& cache,
                                       const BetweenBlocks& between_blocks) {
  const DiTConfig& c = config_;
  if (c.has_image_input()) fail("the causal forward runs t2v models only, this one is " + to_string(c.model_type));
  if (!x.defined() || x.dim() != 4) fail("a chunk must be [C, frames, H, W], got " + c10::str(x.sizes()));
  if (!t.defined() || t.dim() != 1 || t.numel() != x.size(1))
    fail("t must hold one timestep per frame of the chunk (" + std::to_string(x.size(1)) + "), got " +
         (t.defined() ? c10::str(t.sizes()) : std::string("none")));
  if (static_cast<int64_t>(cache.blocks.size()) != c.num_layers)
    fail("the causal cache has " + std::to_string(cache.blocks.size()) + " blocks, the model " +
         std::to_string(c.num_layers));
  if (start_frame < 0) fail("negative start frame " + std::to_string(start_frame));

  const at::Device device = patch_embedding->weight.device();
  std::vector<dit::PatchGrid> grids;
  const int64_t frame_tokens = (x.size(2) / c.patch_size[1]) * (x.size(3) / c.patch_size[2]);
  at::Tensor h = embed_video({x}, {}, x.size(1) / c.patch_size[0] * frame_tokens, &grids);
  if (c.patch_size[0] != 1 || frame_tokens != cache.frame_tokens)
    fail("a chunk of " + c10::str(x.sizes()) + " has " + std::to_string(frame_tokens) +
         " tokens per frame, the causal cache was made for " + std::to_string(cache.frame_tokens));
  const std::vector<dit::RopeRotation> rotations{rope_.rotation(grids[0], device, start_frame)};
  dit::TokenCounts tokens;
  tokens.cpu = at::tensor(std::vector<int64_t>{grids[0].tokens()}, at::kLong);
  tokens.device = tokens.cpu.to(device, /*non_blocking=*/true);
  tokens.max = grids[0].tokens();

  // One timestep per frame: e [1, n, dim], e0 [1, n, 6, dim].
  const int64_t n = x.size(1);
  const at::Tensor e = time_embedding->forward(dit::sinusoidal_time_embedding(c.freq_dim, t.to(device)).to(at::kFloat));
  const at::Tensor e0 = time_projection->forward(e).unflatten(1, {6, c.dim}).view({1, n, 6, c.dim});
  const at::Tensor ctx = cache.has_context() ? at::Tensor() : embed_context({context}, {});

  h = run_blocks(h, e0, tokens, rotations, ctx, between_blocks, &cache, start_frame * frame_tokens);
  return unpatchify(head->forward(h, e.view({1, n, c.dim})), grids)[0];
}

}  // namespace wan
