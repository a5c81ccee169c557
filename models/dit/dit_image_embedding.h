// Projection of CLIP image features into DiT context tokens (i2v, flf2v): LayerNorm, Linear,
// GELU, Linear, LayerNorm. flf2v first joins each sample's two images (first and last frame)
// into one sequence and adds a learned position embedding.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace wan::dit {

struct ImageEmbeddingImpl : torch::nn::Module {
  static constexpr int64_t kFeatureDim = 1280;     // CLIP ViT-H/14 width
  static constexpr int64_t kTokensPerImage = 257;  // 1 + 16 x 16 patches

  ImageEmbeddingImpl(int64_t dim, bool first_last_frame);
  // clip_fea [B * images_per_sample(), tokens, 1280] -> [B, images_per_sample() * tokens, dim].
  at::Tensor forward(const at::Tensor& clip_fea);
  void set_compute_dtype(at::ScalarType dtype);
  int64_t images_per_sample() const { return emb_pos.defined() ? 2 : 1; }

  torch::nn::Sequential proj{nullptr};
  // Typed views of proj's children.
  torch::nn::LayerNorm norm_in{nullptr}, norm_out{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  at::Tensor emb_pos;  // [1, 2 * 257, 1280], flf2v only
};
TORCH_MODULE(ImageEmbedding);

}  // namespace wan::dit
