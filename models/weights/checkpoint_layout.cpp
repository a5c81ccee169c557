#include "models/weights/checkpoint_layout.h"

#include <cstring>
#include <mutex>
#include <set>

#include <ATen/ATen.h>

#include "models/common/error.h"
#include "models/weights/name_pattern.h"

namespace wan {

// ---------------------------------------------------------------------------
// The table. Each family keeps its rows together; official names on the right.
// ---------------------------------------------------------------------------
const std::vector<LayoutPrefix>& layout_prefixes() {
  static const std::vector<LayoutPrefix> prefixes = {
      // --- DiT ---
      {ModelFamily::DiT, "comfyui", "model.diffusion_model."},
      // --- VAE ---
      // --- T5 ---
      // --- CLIP ---
      // The official open-clip .pth holds the whole CLIP: only visual.* is the image tower.
      {ModelFamily::CLIP, "open-clip", "visual.", /*others_dropped=*/true},
  };
  return prefixes;
}

const std::vector<LayoutRule>& layout_rules() {
  static const std::vector<LayoutRule> rules = {
      // --- DiT ---
      // diffusers WanTransformer3DModel (scripts/convert_wan_to_diffusers.py); same shapes.
      // diffusers numbers the block norms in call order, so its norm2 is the official norm3.
      {ModelFamily::DiT, "diffusers", "condition_embedder.time_embedder.linear_1.{*}", "time_embedding.0.{*}"},
      {ModelFamily::DiT, "diffusers", "condition_embedder.time_embedder.linear_2.{*}", "time_embedding.2.{*}"},
      {ModelFamily::DiT, "diffusers", "condition_embedder.time_proj.{*}", "time_projection.1.{*}"},
      {ModelFamily::DiT, "diffusers", "condition_embedder.text_embedder.linear_1.{*}", "text_embedding.0.{*}"},
      {ModelFamily::DiT, "diffusers", "condition_embedder.text_embedder.linear_2.{*}", "text_embedding.2.{*}"},
      {ModelFamily::DiT, "diffusers", "condition_embedder.image_embedder.norm1.{*}", "img_emb.proj.0.{*}"},
      {ModelFamily::DiT, "diffusers", "condition_embedder.image_embedder.ff.net.0.proj.{*}", "img_emb.proj.1.{*}"},
      {ModelFamily::DiT, "diffusers", "condition_embedder.image_embedder.ff.net.2.{*}", "img_emb.proj.3.{*}"},
      {ModelFamily::DiT, "diffusers", "condition_embedder.image_embedder.norm2.{*}", "img_emb.proj.4.{*}"},
      {ModelFamily::DiT, "diffusers", "condition_embedder.image_embedder.pos_embed", "img_emb.emb_pos"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn1.to_q.{*}", "blocks.{i}.self_attn.q.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn1.to_k.{*}", "blocks.{i}.self_attn.k.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn1.to_v.{*}", "blocks.{i}.self_attn.v.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn1.to_out.0.{*}", "blocks.{i}.self_attn.o.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn1.norm_q.{*}", "blocks.{i}.self_attn.norm_q.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn1.norm_k.{*}", "blocks.{i}.self_attn.norm_k.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn2.to_q.{*}", "blocks.{i}.cross_attn.q.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn2.to_k.{*}", "blocks.{i}.cross_attn.k.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn2.to_v.{*}", "blocks.{i}.cross_attn.v.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn2.to_out.0.{*}", "blocks.{i}.cross_attn.o.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn2.norm_q.{*}", "blocks.{i}.cross_attn.norm_q.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn2.norm_k.{*}", "blocks.{i}.cross_attn.norm_k.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn2.add_k_proj.{*}", "blocks.{i}.cross_attn.k_img.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn2.add_v_proj.{*}", "blocks.{i}.cross_attn.v_img.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.attn2.norm_added_k.{*}", "blocks.{i}.cross_attn.norm_k_img.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.norm2.{*}", "blocks.{i}.norm3.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.ffn.net.0.proj.{*}", "blocks.{i}.ffn.0.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.ffn.net.2.{*}", "blocks.{i}.ffn.2.{*}"},
      {ModelFamily::DiT, "diffusers", "blocks.{i}.scale_shift_table", "blocks.{i}.modulation"},
      {ModelFamily::DiT, "diffusers", "scale_shift_table", "head.modulation"},
      {ModelFamily::DiT, "diffusers", "proj_out.{*}", "head.head.{*}"},
      // --- VAE ---
      // diffusers AutoencoderKLWan (scripts/convert_wan_to_diffusers.py, released layout:
      // 4 levels of 2 (encoder) / 3 (decoder) residual blocks, no attention in the levels).
      {ModelFamily::VAE, "diffusers", "encoder.conv_in.{*}", "encoder.conv1.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.norm_out.{*}", "encoder.head.0.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.conv_out.{*}", "encoder.head.2.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.mid_block.attentions.0.{*}", "encoder.middle.1.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.mid_block.resnets.0.norm1.{*}", "encoder.middle.0.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.mid_block.resnets.0.conv1.{*}", "encoder.middle.0.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.mid_block.resnets.0.norm2.{*}", "encoder.middle.0.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.mid_block.resnets.0.conv2.{*}", "encoder.middle.0.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.mid_block.resnets.1.norm1.{*}", "encoder.middle.2.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.mid_block.resnets.1.conv1.{*}", "encoder.middle.2.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.mid_block.resnets.1.norm2.{*}", "encoder.middle.2.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.mid_block.resnets.1.conv2.{*}", "encoder.middle.2.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.conv_in.{*}", "decoder.conv1.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.norm_out.{*}", "decoder.head.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.conv_out.{*}", "decoder.head.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.mid_block.attentions.0.{*}", "decoder.middle.1.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.mid_block.resnets.0.norm1.{*}", "decoder.middle.0.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.mid_block.resnets.0.conv1.{*}", "decoder.middle.0.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.mid_block.resnets.0.norm2.{*}", "decoder.middle.0.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.mid_block.resnets.0.conv2.{*}", "decoder.middle.0.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.mid_block.resnets.1.norm1.{*}", "decoder.middle.2.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.mid_block.resnets.1.conv1.{*}", "decoder.middle.2.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.mid_block.resnets.1.norm2.{*}", "decoder.middle.2.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.mid_block.resnets.1.conv2.{*}", "decoder.middle.2.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "quant_conv.{*}", "conv1.{*}"},
      {ModelFamily::VAE, "diffusers", "post_quant_conv.{*}", "conv2.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.down_blocks.{i}.norm1.{*}", "encoder.downsamples.{i}.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.down_blocks.{i}.conv1.{*}", "encoder.downsamples.{i}.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.down_blocks.{i}.norm2.{*}", "encoder.downsamples.{i}.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.down_blocks.{i}.conv2.{*}", "encoder.downsamples.{i}.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.down_blocks.{i}.conv_shortcut.{*}",
       "encoder.downsamples.{i}.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "encoder.down_blocks.{i}.{*}", "encoder.downsamples.{i}.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.0.norm1.{*}", "decoder.upsamples.0.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.0.conv1.{*}", "decoder.upsamples.0.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.0.norm2.{*}", "decoder.upsamples.0.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.0.conv2.{*}", "decoder.upsamples.0.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.0.conv_shortcut.{*}",
       "decoder.upsamples.0.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.1.norm1.{*}", "decoder.upsamples.1.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.1.conv1.{*}", "decoder.upsamples.1.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.1.norm2.{*}", "decoder.upsamples.1.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.1.conv2.{*}", "decoder.upsamples.1.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.1.conv_shortcut.{*}",
       "decoder.upsamples.1.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.2.norm1.{*}", "decoder.upsamples.2.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.2.conv1.{*}", "decoder.upsamples.2.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.2.norm2.{*}", "decoder.upsamples.2.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.2.conv2.{*}", "decoder.upsamples.2.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.resnets.2.conv_shortcut.{*}",
       "decoder.upsamples.2.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.0.upsamplers.0.{*}", "decoder.upsamples.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.0.norm1.{*}", "decoder.upsamples.4.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.0.conv1.{*}", "decoder.upsamples.4.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.0.norm2.{*}", "decoder.upsamples.4.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.0.conv2.{*}", "decoder.upsamples.4.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.0.conv_shortcut.{*}",
       "decoder.upsamples.4.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.1.norm1.{*}", "decoder.upsamples.5.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.1.conv1.{*}", "decoder.upsamples.5.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.1.norm2.{*}", "decoder.upsamples.5.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.1.conv2.{*}", "decoder.upsamples.5.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.1.conv_shortcut.{*}",
       "decoder.upsamples.5.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.2.norm1.{*}", "decoder.upsamples.6.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.2.conv1.{*}", "decoder.upsamples.6.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.2.norm2.{*}", "decoder.upsamples.6.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.2.conv2.{*}", "decoder.upsamples.6.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.resnets.2.conv_shortcut.{*}",
       "decoder.upsamples.6.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.1.upsamplers.0.{*}", "decoder.upsamples.7.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.0.norm1.{*}", "decoder.upsamples.8.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.0.conv1.{*}", "decoder.upsamples.8.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.0.norm2.{*}", "decoder.upsamples.8.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.0.conv2.{*}", "decoder.upsamples.8.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.0.conv_shortcut.{*}",
       "decoder.upsamples.8.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.1.norm1.{*}", "decoder.upsamples.9.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.1.conv1.{*}", "decoder.upsamples.9.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.1.norm2.{*}", "decoder.upsamples.9.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.1.conv2.{*}", "decoder.upsamples.9.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.1.conv_shortcut.{*}",
       "decoder.upsamples.9.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.2.norm1.{*}", "decoder.upsamples.10.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.2.conv1.{*}", "decoder.upsamples.10.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.2.norm2.{*}", "decoder.upsamples.10.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.2.conv2.{*}", "decoder.upsamples.10.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.resnets.2.conv_shortcut.{*}",
       "decoder.upsamples.10.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.2.upsamplers.0.{*}", "decoder.upsamples.11.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.0.norm1.{*}", "decoder.upsamples.12.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.0.conv1.{*}", "decoder.upsamples.12.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.0.norm2.{*}", "decoder.upsamples.12.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.0.conv2.{*}", "decoder.upsamples.12.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.0.conv_shortcut.{*}",
       "decoder.upsamples.12.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.1.norm1.{*}", "decoder.upsamples.13.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.1.conv1.{*}", "decoder.upsamples.13.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.1.norm2.{*}", "decoder.upsamples.13.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.1.conv2.{*}", "decoder.upsamples.13.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.1.conv_shortcut.{*}",
       "decoder.upsamples.13.shortcut.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.2.norm1.{*}", "decoder.upsamples.14.residual.0.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.2.conv1.{*}", "decoder.upsamples.14.residual.2.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.2.norm2.{*}", "decoder.upsamples.14.residual.3.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.2.conv2.{*}", "decoder.upsamples.14.residual.6.{*}"},
      {ModelFamily::VAE, "diffusers", "decoder.up_blocks.3.resnets.2.conv_shortcut.{*}",
       "decoder.upsamples.14.shortcut.{*}"},
      // --- T5 ---
      // transformers' UMT5EncoderModel: the diffusers text_encoder/ folder and
      // ComfyUI's umt5_xxl files. wi_0 is the GELU-gated branch.
      {ModelFamily::T5, "transformers", "shared.weight", "token_embedding.weight"},
      {ModelFamily::T5, "transformers", "encoder.embed_tokens.weight", "token_embedding.weight"},
      {ModelFamily::T5, "transformers", "encoder.block.{i}.layer.0.layer_norm.weight", "blocks.{i}.norm1.weight"},
      {ModelFamily::T5, "transformers", "encoder.block.{i}.layer.0.SelfAttention.q.weight", "blocks.{i}.attn.q.weight"},
      {ModelFamily::T5, "transformers", "encoder.block.{i}.layer.0.SelfAttention.k.weight", "blocks.{i}.attn.k.weight"},
      {ModelFamily::T5, "transformers", "encoder.block.{i}.layer.0.SelfAttention.v.weight", "blocks.{i}.attn.v.weight"},
      {ModelFamily::T5, "transformers", "encoder.block.{i}.layer.0.SelfAttention.o.weight", "blocks.{i}.attn.o.weight"},
      {ModelFamily::T5, "transformers", "encoder.block.{i}.layer.0.SelfAttention.relative_attention_bias.weight",
       "blocks.{i}.pos_embedding.embedding.weight"},
      {ModelFamily::T5, "transformers", "encoder.block.{i}.layer.1.layer_norm.weight", "blocks.{i}.norm2.weight"},
      {ModelFamily::T5, "transformers", "encoder.block.{i}.layer.1.DenseReluDense.wi_0.weight",
       "blocks.{i}.ffn.gate.0.weight"},
      {ModelFamily::T5, "transformers", "encoder.block.{i}.layer.1.DenseReluDense.wi_1.weight",
       "blocks.{i}.ffn.fc1.weight"},
      {ModelFamily::T5, "transformers", "encoder.block.{i}.layer.1.DenseReluDense.wo.weight",
       "blocks.{i}.ffn.fc2.weight"},
      {ModelFamily::T5, "transformers", "encoder.final_layer_norm.weight", "norm.weight"},
      // --- CLIP ---
      // transformers' CLIPVisionModel(WithProjection): ComfyUI's clip_vision_h
      // and the diffusers image_encoder/ folder. Official names have no "visual."
      // here: the open-clip .pth's prefix is one of the prefixes above.
      {ModelFamily::CLIP, "transformers", "vision_model.embeddings.patch_embedding.weight", "patch_embedding.weight"},
      {ModelFamily::CLIP, "transformers", "vision_model.embeddings.class_embedding", "cls_embedding",
       LayoutTransform::AddUnitDims, nullptr, 2},
      {ModelFamily::CLIP, "transformers", "vision_model.embeddings.position_embedding.weight", "pos_embedding",
       LayoutTransform::AddUnitDims, nullptr, 1},
      {ModelFamily::CLIP, "transformers", "vision_model.pre_layrnorm.{*}", "pre_norm.{*}"},
      {ModelFamily::CLIP, "transformers", "vision_model.encoder.layers.{i}.self_attn.{part}_proj.weight",
       "transformer.{i}.attn.to_qkv.weight", LayoutTransform::ConcatDim0, "q,k,v"},
      {ModelFamily::CLIP, "transformers", "vision_model.encoder.layers.{i}.self_attn.{part}_proj.bias",
       "transformer.{i}.attn.to_qkv.bias", LayoutTransform::ConcatDim0, "q,k,v"},
      {ModelFamily::CLIP, "transformers", "vision_model.encoder.layers.{i}.self_attn.out_proj.{*}",
       "transformer.{i}.attn.proj.{*}"},
      {ModelFamily::CLIP, "transformers", "vision_model.encoder.layers.{i}.layer_norm1.{*}",
       "transformer.{i}.norm1.{*}"},
      {ModelFamily::CLIP, "transformers", "vision_model.encoder.layers.{i}.mlp.fc1.{*}", "transformer.{i}.mlp.0.{*}"},
      {ModelFamily::CLIP, "transformers", "vision_model.encoder.layers.{i}.layer_norm2.{*}",
       "transformer.{i}.norm2.{*}"},
      {ModelFamily::CLIP, "transformers", "vision_model.encoder.layers.{i}.mlp.fc2.{*}", "transformer.{i}.mlp.2.{*}"},
      {ModelFamily::CLIP, "transformers", "vision_model.post_layernorm.{*}", "post_norm.{*}"},
      {ModelFamily::CLIP, "transformers", "visual_projection.weight", "head"},
  };
  return rules;
}

// ---------------------------------------------------------------------------
// Pattern matching over dotted names.
// ---------------------------------------------------------------------------
namespace {

// Fills the placeholders of `to` with the captures of the same placeholder, in order.
std::string substitute(const std::string& to, const NamePattern& from, const std::vector<std::string>& captures) {
  std::map<std::string, size_t> used;
  std::string out;
  for (size_t i = 0; i < to.size();) {
    std::string slot;
    for (const char* s : {"{i}", "{*}", "{part}"})
      if (to.compare(i, std::strlen(s), s) == 0) slot = s;
    if (slot.empty()) {
      out += to[i++];
      continue;
    }
    size_t nth = used[slot]++, seen = 0;
    for (size_t g = 0; g < from.slots().size(); ++g)
      if (from.slots()[g] == slot && seen++ == nth) out += captures[g];
    i += slot.size();
  }
  return out;
}

struct Match {
  const LayoutRule* rule;
  std::string target;
  std::string part;
};

bool match_rule(const LayoutRule& rule, const NamePattern& from, const std::string& name, Match* out) {
  std::vector<std::string> captures;
  if (!from.match(name, &captures)) return false;
  out->rule = &rule;
  out->target = substitute(rule.to, from, captures);
  for (size_t g = 0; g < from.slots().size(); ++g)
    if (from.slots()[g] == "{part}") out->part = captures[g];
  return true;
}

// Released checkpoints' names are under 200 characters: a longer one is not a checkpoint's,
// and refusing it keeps messages short (NamePattern itself takes any length).
constexpr size_t kLongestName = 1024;

void check_name_lengths(const TensorMap& weights) {
  for (const auto& kv : weights)
    if (kv.first.size() > kLongestName)
      throw Error("a tensor name of " + std::to_string(kv.first.size()) + " characters ('" + kv.first.substr(0, 48) +
                  "...'): tensor names are at most " + std::to_string(kLongestName) + " characters");
}

at::Tensor with_unit_dims(const at::Tensor& t, int count) {
  std::vector<int64_t> shape(static_cast<size_t>(count), 1);
  shape.insert(shape.end(), t.sizes().begin(), t.sizes().end());
  return t.view(shape);
}

}  // namespace

TensorMap to_official_names(ModelFamily family, TensorMap weights, std::string* layout) {
  check_name_lengths(weights);
  std::string detected = "official";

  for (const auto& p : layout_prefixes()) {
    if (p.family != family) continue;
    const std::string prefix = p.prefix;
    size_t with = 0;
    for (const auto& kv : weights) with += kv.first.rfind(prefix, 0) == 0;
    if (with == 0) continue;
    TensorMap stripped;
    for (auto& [name, t] : weights)
      if (name.rfind(prefix, 0) == 0)
        stripped.emplace(name.substr(prefix.size()), t);
      else if (!p.others_dropped)
        stripped.emplace(name, t);
    weights = std::move(stripped);
    detected = p.layout;
    break;
  }

  // Which layout's rows explain the most names?
  std::map<std::string, std::vector<std::pair<const LayoutRule*, NamePattern>>> by_layout;
  for (const auto& r : layout_rules())
    if (r.family == family) by_layout[r.layout].emplace_back(&r, NamePattern(r.from, r.parts));
  std::string best;
  size_t best_hits = 0;
  for (const auto& [name, rows] : by_layout) {
    size_t hits = 0;
    Match m;
    for (const auto& kv : weights)
      for (const auto& [rule, pat] : rows)
        if (match_rule(*rule, pat, kv.first, &m)) {
          ++hits;
          break;
        }
    if (hits > best_hits) best = name, best_hits = hits;
  }

  if (!best.empty()) {
    detected = best;
    TensorMap out;
    std::map<std::string, std::map<std::string, at::Tensor>> concat_parts;
    std::map<std::string, const LayoutRule*> concat_rule;
    for (auto& [name, t] : weights) {
      Match m;
      bool matched = false;
      for (const auto& [rule, pat] : by_layout[best])
        if (match_rule(*rule, pat, name, &m)) {
          matched = true;
          break;
        }
      if (!matched) {
        out.emplace(name, t);
      } else if (m.rule->transform == LayoutTransform::ConcatDim0) {
        concat_parts[m.target][m.part] = t;
        concat_rule[m.target] = m.rule;
      } else if (!out.emplace(m.target, m.rule->transform == LayoutTransform::AddUnitDims
                                            ? with_unit_dims(t, m.rule->unit_dims)
                                            : t)
                      .second) {
        throw Error("checkpoint in the " + best + " layout maps two tensors onto '" + m.target + "'");
      }
    }
    for (auto& [target, parts] : concat_parts) {
      std::vector<at::Tensor> ordered;
      std::string list = concat_rule[target]->parts;
      size_t start = 0;
      while (start <= list.size()) {
        size_t comma = list.find(',', start);
        const std::string part = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto it = parts.find(part);
        if (it == parts.end())
          throw Error("checkpoint in the " + best + " layout lacks the '" + part + "' part of '" + target + "'");
        ordered.push_back(it->second);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      // Parts of another rank or width (a crafted or broken file) are the file's error, not libtorch's.
      for (const auto& t : ordered)
        if (t.dim() == 0 || t.dim() != ordered[0].dim() || t.sizes().slice(1) != ordered[0].sizes().slice(1))
          throw Error("checkpoint in the " + best + " layout: the parts of '" + target +
                      "' have shapes that cannot be joined on their first axis");
      out.emplace(target, at::cat(ordered, 0));
    }
    weights = std::move(out);
  }
  if (layout) *layout = detected;
  return weights;
}

std::optional<std::string> official_name(ModelFamily family, const std::string& layout, const std::string& name) {
  if (name.size() > kLongestName) return std::nullopt;
  // Compiled once per layout: adapter files ask for thousands of names.
  using Rows = std::vector<std::pair<const LayoutRule*, NamePattern>>;
  static std::mutex mutex;
  static std::map<std::pair<int, std::string>, Rows> compiled;
  const Rows* rows = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto [it, fresh] = compiled.try_emplace({static_cast<int>(family), layout});
    if (fresh)
      for (const auto& r : layout_rules())
        if (r.family == family && layout == r.layout && r.transform == LayoutTransform::Rename)
          it->second.emplace_back(&r, NamePattern(r.from));
    rows = &it->second;
  }
  Match m;
  for (const auto& [rule, pat] : *rows)
    if (match_rule(*rule, pat, name, &m)) return m.target;
  return std::nullopt;
}

TensorMap from_official_names(ModelFamily family, const std::string& layout, const TensorMap& weights) {
  check_name_lengths(weights);
  std::vector<std::pair<const LayoutRule*, NamePattern>> rows;
  for (const auto& r : layout_rules())
    if (r.family == family && layout == r.layout && r.transform == LayoutTransform::Rename)
      rows.emplace_back(&r, NamePattern(r.to));
  std::string prefix;
  for (const auto& p : layout_prefixes())
    if (p.family == family && layout == p.layout) prefix = p.prefix;
  TensorMap out;
  for (const auto& [name, t] : weights) {
    std::string target = name;
    for (const auto& [rule, pat] : rows) {
      std::vector<std::string> captures;
      if (pat.match(name, &captures)) {
        target = substitute(rule->from, pat, captures);
        break;
      }
    }
    out.emplace(prefix + target, t);
  }
  return out;
}

}  // namespace wan
