// The CLIP ViT image tower Wan i2v / flf2v condition on (VisionTransformer of
// the reference, open-clip ViT-H/14): patch embedding, class token, learned
// positions, pre-norm transformer blocks. Only the hidden states are used, so
// the pooling head and the final norm are not part of this module.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "models/clip/clip_config.h"
#include "models/common/parameter_init.h"

namespace wan {

// LayerNorm evaluated in float32 whatever the activations' dtype.
class ClipLayerNormImpl : public torch::nn::Module {
 public:
  ClipLayerNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight, bias;

 private:
  double eps_;
};
TORCH_MODULE(ClipLayerNorm);

// Self-attention with one fused projection: to_qkv rows are [q | k | v], each
// split into heads; softmax(q k^T / sqrt(d)) v over all tokens.
class ClipSelfAttentionImpl : public torch::nn::Module {
 public:
  ClipSelfAttentionImpl(int64_t dim, int64_t num_heads);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Linear to_qkv{nullptr}, proj{nullptr};

 private:
  int64_t num_heads_;
};
TORCH_MODULE(ClipSelfAttention);

class ClipAttentionBlockImpl : public torch::nn::Module {
 public:
  explicit ClipAttentionBlockImpl(const ClipVisionConfig& config);
  at::Tensor forward(const at::Tensor& x);

  ClipLayerNorm norm1{nullptr}, norm2{nullptr};
  ClipSelfAttention attn{nullptr};
  torch::nn::Sequential mlp{nullptr};  // Linear, GELU, Linear: the checkpoint's mlp.0 / mlp.2

 private:
  bool post_norm_;
};
TORCH_MODULE(ClipAttentionBlock);

class VisionTransformerImpl : public torch::nn::Module {
 public:
  // Parameters end up on options' device in its dtype; Uninitialized allocates
  // them there directly (for weights loaded next), Random initialises on the CPU.
  explicit VisionTransformerImpl(const ClipVisionConfig& config, const at::TensorOptions& options = {},
                                 ParameterInit init = ParameterInit::Random);

  // pixels [N, 3, S, S], already normalised -> hidden states [N, 1 + (S/p)^2, dim].
  // use_31_block runs every block but the last (Wan's feature layer).
  at::Tensor forward(const at::Tensor& pixels, bool use_31_block);

  const ClipVisionConfig& config() const { return config_; }

  torch::nn::Conv2d patch_embedding{nullptr};
  at::Tensor cls_embedding;  // [1, 1, dim]
  at::Tensor pos_embedding;  // [1, tokens, dim]
  ClipLayerNorm pre_norm{nullptr};
  torch::nn::ModuleList transformer{nullptr};

 private:
  ClipVisionConfig config_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace wan
