#include "models/vae/decoder3d.h"

#include <cmath>

#include <torch/nn/modules/container/modulelist.h>

#include "models/vae/frames.h"

namespace wan::vae {

Decoder3dImpl::Decoder3dImpl(const VAEConfig& config) {
  // Widths from the deepest level up: [dim*mult[-1], dim*mult[-1], ..., dim*mult[0]].
  std::vector<int64_t> dims = {config.dim * config.dim_mult.back()};
  for (auto m = config.dim_mult.rbegin(); m != config.dim_mult.rend(); ++m) dims.push_back(config.dim * *m);
  const size_t levels = config.dim_mult.size();
  const std::vector<bool> temporal_upsample = config.temporal_upsample();

  conv1_ = register_module("conv1", size_preserving_conv3d(config.z_dim, dims[0]));

  auto middle = register_module("middle", torch::nn::ModuleList());
  middle_in_ = ResidualBlock(dims[0], dims[0]);
  middle_attention_ = AttentionBlock(dims[0]);
  middle_out_ = ResidualBlock(dims[0], dims[0]);
  middle->push_back(middle_in_.ptr());
  middle->push_back(middle_attention_.ptr());
  middle->push_back(middle_out_.ptr());

  upsamples_ = LayerStack(register_module("upsamples", torch::nn::ModuleList()));
  double scale = 1.0 / std::pow(2.0, static_cast<double>(levels) - 2);
  for (size_t i = 0; i < levels; ++i) {
    // Every level but the first starts after an upsampling that halved the channels.
    int64_t in = i == 0 ? dims[i] : dims[i] / 2;
    const int64_t out = dims[i + 1];
    for (int64_t r = 0; r < config.num_res_blocks + 1; ++r) {
      upsamples_.add(ResidualBlock(in, out));
      if (config.attends_at(scale)) upsamples_.add(AttentionBlock(out));
      in = out;
    }
    if (i + 1 < levels) {
      upsamples_.add(Resample(out, temporal_upsample[i] ? ResampleMode::Upsample3d : ResampleMode::Upsample2d));
      scale *= 2.0;
    }
  }

  // head.1 is a parameterless SiLU.
  auto head = register_module("head", std::make_shared<torch::nn::Module>("Sequential"));
  head_norm_ = head->register_module("0", RMSNorm(dims.back(), /*images=*/false));
  head_conv_ = head->register_module("2", size_preserving_conv3d(dims.back(), 3));
}

Decoder3dCache Decoder3dImpl::make_cache() const {
  Decoder3dCache cache;
  cache.upsamples = upsamples_.make_cache();
  return cache;
}

at::Tensor Decoder3dImpl::forward(const at::Tensor& latent_frame, Decoder3dCache& cache) const {
  at::Tensor x = conv1_->forward(latent_frame, cache.conv1);
  x = middle_in_->forward(std::move(x), cache.middle_in);
  x = middle_attention_->forward(x);
  x = middle_out_->forward(std::move(x), cache.middle_out);
  // From the last time upsampling's spatial half on, every layer is causal
  // frame by frame; split there, the chunk held through the frame loop is at
  // a quarter of the output's size rather than at half of it.
  const size_t time_end = upsamples_.end_of_time_resampling();
  const Resample last_time_upsampling = time_end > 0 ? upsamples_.resample(time_end - 1) : Resample(nullptr);
  if (last_time_upsampling) {
    x = upsamples_.forward(std::move(x), cache.upsamples, 0, time_end - 1);
    x = last_time_upsampling->upsample_time(x, cache.upsamples[time_end - 1].resample);
  }
  std::vector<at::Tensor> outputs;
  for (const at::Tensor& piece : frame_pieces(x)) {
    at::Tensor y = last_time_upsampling ? last_time_upsampling->resample_space(piece) : piece;
    y = upsamples_.forward(std::move(y), cache.upsamples, time_end);
    y = head_norm_->forward_silu(y);
    outputs.push_back(head_conv_->forward(std::move(y), cache.head));
  }
  return outputs.size() == 1 ? outputs[0] : at::cat(outputs, 2);
}

}  // namespace wan::vae
