#include "models/vae/encoder3d.h"

#include <algorithm>

#include <torch/nn/modules/container/modulelist.h>

#include "models/vae/frames.h"

namespace wan::vae {

Encoder3dImpl::Encoder3dImpl(const VAEConfig& config) {
  std::vector<int64_t> dims = {config.dim};
  for (int64_t m : config.dim_mult) dims.push_back(config.dim * m);

  conv1_ = register_module("conv1", size_preserving_conv3d(3, dims[0]));

  downsamples_ = LayerStack(register_module("downsamples", torch::nn::ModuleList()));
  double scale = 1.0;  // resolution relative to the input, for attn_scales
  const size_t levels = config.dim_mult.size();
  for (size_t i = 0; i < levels; ++i) {
    int64_t in = dims[i];
    const int64_t out = dims[i + 1];
    for (int64_t r = 0; r < config.num_res_blocks; ++r) {
      downsamples_.add(ResidualBlock(in, out));
      if (config.attends_at(scale)) downsamples_.add(AttentionBlock(out));
      in = out;
    }
    if (i + 1 < levels) {
      downsamples_.add(
          Resample(out, config.temporal_downsample[i] ? ResampleMode::Downsample3d : ResampleMode::Downsample2d));
      scale /= 2.0;
    }
  }

  const int64_t width = dims.back();
  auto middle = register_module("middle", torch::nn::ModuleList());
  middle_in_ = ResidualBlock(width, width);
  middle_attention_ = AttentionBlock(width);
  middle_out_ = ResidualBlock(width, width);
  middle->push_back(middle_in_.ptr());
  middle->push_back(middle_attention_.ptr());
  middle->push_back(middle_out_.ptr());

  // head.1 is a parameterless SiLU.
  auto head = register_module("head", std::make_shared<torch::nn::Module>("Sequential"));
  head_norm_ = head->register_module("0", RMSNorm(width, /*images=*/false));
  head_conv_ = head->register_module("2", size_preserving_conv3d(width, 2 * config.z_dim));
}

Encoder3dCache Encoder3dImpl::make_cache() const {
  Encoder3dCache cache;
  cache.downsamples = downsamples_.make_cache();
  return cache;
}

at::Tensor Encoder3dImpl::forward(const at::Tensor& chunk, Encoder3dCache& cache,
                                  const std::function<void()>& before_frame) const {
  // Up to the first time downsampling every layer is causal frame by frame.
  const size_t per_frame_until = downsamples_.first_time_resampling();
  // The hook also runs between the layers: on a CPU one 4-frame chunk of a large video takes seconds.
  const auto layers = [&](at::Tensor x, size_t begin, size_t end) {
    for (size_t i = begin; i < std::min(end, downsamples_.size()); ++i) {
      if (before_frame) before_frame();
      x = downsamples_.forward(std::move(x), cache.downsamples, i, i + 1);
    }
    return x;
  };
  std::vector<at::Tensor> outputs;
  for (const at::Tensor& piece : frame_pieces(chunk)) {
    if (before_frame) before_frame();
    outputs.push_back(layers(conv1_->forward(piece, cache.conv1), 0, per_frame_until));
  }
  at::Tensor x = outputs.size() == 1 ? outputs[0] : at::cat(outputs, 2);
  outputs.clear();
  x = layers(std::move(x), per_frame_until, downsamples_.size());
  x = middle_in_->forward(std::move(x), cache.middle_in);
  x = middle_attention_->forward(x);
  x = middle_out_->forward(std::move(x), cache.middle_out);
  return head_conv_->forward(head_norm_->forward_silu(x), cache.head);
}

}  // namespace wan::vae
