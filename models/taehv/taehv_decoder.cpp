#include "models/taehv/taehv_decoder.h"

#include <torch/nn/modules/container/any.h>

#include "models/common/error.h"
#include "models/weights/checkpoint_file.h"
#include "models/weights/state_dict.h"

namespace wan::taehv {

namespace {

constexpr int64_t kLatentChannels = 16;
constexpr int64_t kWidths[4] = {256, 128, 64, 64};
// The checkpoint's indices: the first MemBlock, TGrow and narrowing conv of each stage.
constexpr int kFirstBlock[3] = {3, 9, 15};
constexpr int kGrow[3] = {7, 13, 19};
constexpr int kNarrow[3] = {8, 14, 20};
constexpr int kInput = 1, kOutput = 22;

// The module at a dotted path under `root`, created on the way (plain containers: only the
// names matter, so that named_parameters() gives the checkpoint's).
torch::nn::Module& submodule(torch::nn::Module& root, const std::string& dotted) {
  torch::nn::Module* node = &root;
  size_t start = 0;
  while (start < dotted.size()) {
    const size_t dot = dotted.find('.', start);
    const std::string name = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const auto children = node->named_children();
    if (const auto* found = children.find(name))
      node = found->get();
    else
      node = node->register_module(name, std::make_shared<torch::nn::Module>()).get();
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return *node;
}

}  // namespace

at::Tensor TaehvDecoderImpl::Conv::operator()(const at::Tensor& x) const {
  return at::conv2d(x, weight, bias, /*stride=*/1, /*padding=*/padding);
}

at::Tensor TaehvDecoderImpl::MemBlock::operator()(const at::Tensor& x, const at::Tensor& past) const {
  at::Tensor h = at::relu(conv[0](at::cat({x, past}, 1)));
  h = at::relu(conv[1](h));
  return at::relu(conv[2](h) + x);
}

TaehvDecoderImpl::Conv TaehvDecoderImpl::conv(const std::string& name, int64_t in, int64_t out, int64_t kernel,
                                              bool bias) {
  torch::nn::Module& layer = submodule(*this, name);
  Conv c;
  c.weight = layer.register_parameter("weight", at::empty({out, in, kernel, kernel}), /*requires_grad=*/false);
  if (bias) c.bias = layer.register_parameter("bias", at::empty({out}), /*requires_grad=*/false);
  c.padding = kernel / 2;
  return c;
}

TaehvDecoderImpl::TaehvDecoderImpl(DecoderOptions options) : options_(options) {
  input_ = conv("decoder." + std::to_string(kInput), kLatentChannels, kWidths[0], 3, true);
  for (int s = 0; s < 3; ++s) {
    Stage& stage = stages_[s];
    const int64_t width = kWidths[s];
    for (int b = 0; b < 3; ++b) {
      const std::string block = "decoder." + std::to_string(kFirstBlock[s] + b) + ".conv.";
      stage.blocks[b].conv[0] = conv(block + "0", 2 * width, width, 3, true);
      stage.blocks[b].conv[1] = conv(block + "2", width, width, 3, true);
      stage.blocks[b].conv[2] = conv(block + "4", width, width, 3, true);
    }
    // The first stage never grows in time (Wan2.1's decoder_time_upscale = (False, True, True)).
    stage.grow_stride = (s > 0 && options_.temporal_upscale) ? 2 : 1;
    stage.grow = conv("decoder." + std::to_string(kGrow[s]) + ".conv", width, width * stage.grow_stride, 1, false);
    stage.narrow = conv("decoder." + std::to_string(kNarrow[s]), width, kWidths[s + 1], 3, false);
  }
  output_ = conv("decoder." + std::to_string(kOutput), kWidths[3], 3, 3, true);
}

TensorMap TaehvDecoderImpl::decoder_weights(const TensorMap& checkpoint) const {
  TensorMap out;
  for (const auto& p : named_parameters()) {
    const auto it = checkpoint.find(p.key());
    if (it == checkpoint.end()) continue;  // load_state_dict names what is missing
    at::Tensor t = it->second;
    // A TGrow trained for 2 frames per frame, used for 1: its last frame's rows.
    const int64_t rows = p.value().size(0);
    if (p.key().find(".conv.weight") != std::string::npos && t.dim() == 4 && t.size(0) > rows && t.size(0) % rows == 0)
      t = t.narrow(0, t.size(0) - rows, rows);
    out.emplace(p.key(), t);
  }
  return out;
}

at::Tensor TaehvDecoderImpl::decode_chunk(const at::Tensor& latents, std::vector<at::Tensor>& memory) const {
  at::Tensor x = at::relu(input_(at::tanh(latents / 3) * 3));
  size_t m = 0;
  for (const Stage& stage : stages_) {
    for (const MemBlock& block : stage.blocks) {
      // The block's input one frame earlier: the chunk's own frames shifted by one, after
      // the last frame of the chunk before (zeros at the start of the video).
      at::Tensor& last = memory[m++];
      const at::Tensor before = last.defined() ? last : at::zeros_like(x.narrow(0, 0, 1));
      const at::Tensor past = at::cat({before, x.narrow(0, 0, x.size(0) - 1)});
      last = x.narrow(0, x.size(0) - 1, 1);
      x = block(x, past);
    }
    x = at::upsample_nearest2d(x, {x.size(2) * 2, x.size(3) * 2});
    x = stage.grow(x);
    x = x.reshape({-1, x.size(1) / stage.grow_stride, x.size(2), x.size(3)});
    x = stage.narrow(x);
  }
  return output_(at::relu(x));
}

namespace {

void check_latents(const at::Tensor& latents) {
  if (latents.dim() != 4 || latents.size(1) != kLatentChannels || latents.size(0) < 1)
    throw Error("TAEHV decoder: latents must be [frames, 16, h, w]");
}

}  // namespace

at::Tensor TaehvDecoderImpl::decode(const at::Tensor& latents, int64_t chunk) const {
  check_latents(latents);
  if (chunk < 1) throw Error("TAEHV decoder: chunk must be at least 1 frame");
  DecodeStream stream;
  std::vector<at::Tensor> frames;
  for (int64_t first = 0; first < latents.size(0); first += chunk)
    frames.push_back(decode_continuing(latents.narrow(0, first, std::min(chunk, latents.size(0) - first)), stream));
  return at::cat(frames);
}

at::Tensor TaehvDecoderImpl::decode_continuing(const at::Tensor& latents, DecodeStream& stream) const {
  check_latents(latents);
  // On the decoder's device too: a preview may come from a pipeline on another device.
  const at::Tensor x = latents.to(input_.weight.options());
  if (stream.memory.empty()) stream.memory.resize(9);
  at::Tensor video = decode_chunk(x, stream.memory);
  // Four frames per latent frame: the video's first three lead in (the Wan VAE makes 1 + 4 (F - 1)).
  const int64_t trim = !stream.started && options_.temporal_upscale ? 3 : 0;
  stream.started = true;
  return video.narrow(0, trim, video.size(0) - trim).clamp(0, 1);
}

TaehvDecoder load_taehv_decoder(const TensorMap& checkpoint, const std::string& what, const at::Device& device,
                                at::ScalarType dtype, DecoderOptions options) {
  TaehvDecoder decoder(options);
  load_state_dict(*decoder, decoder->decoder_weights(checkpoint), what);
  decoder->to(device, dtype);
  return decoder;
}

TaehvDecoder load_taehv_decoder(const std::string& path, const at::Device& device, at::ScalarType dtype,
                                DecoderOptions options) {
  return load_taehv_decoder(load_checkpoint_file(path), path, device, dtype, options);
}

}  // namespace wan::taehv
