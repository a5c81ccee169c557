// TAEW2.1's decoder (madebyollin's TAEHV with Wan2.1's 16 latent channels, MIT): a tiny
// temporal decoder from Wan2.1 latents (the DiT's normalised space) to RGB frames, for
// previews at the video's resolution. Parameters are registered under the checkpoint's
// names (taew2_1.pth / .safetensors: decoder.N...), so one strict load fills them.
//
// The network, in order (N = the index in the checkpoint's decoder Sequential):
//   0 tanh(x / 3) * 3, 1 conv 3x3 16->256, 2 ReLU,
//   3-5 MemBlock 256, 6 nearest x2, 7 TGrow 256 (x1 in time), 8 conv 256->128,
//   9-11 MemBlock 128, 12 nearest x2, 13 TGrow 128 (x2), 14 conv 128->64,
//   15-17 MemBlock 64, 18 nearest x2, 19 TGrow 64 (x2), 20 conv 64->64, 21 ReLU, 22 conv 64->3
// A MemBlock sees its input and its input one frame earlier (zeros before the first):
// relu(conv.4(relu(conv.2(relu(conv.0([x, past]))))) + x). A TGrow turns each frame into
// `stride` frames by a 1x1 conv to stride x channels. The first 3 of the 4F frames are
// dropped (the Wan VAE's 1 + 4 (F - 1) frames), and the output is clamped to [0, 1].
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "models/weights/tensor_map.h"

namespace wan::taehv {

// Decoding going on across calls (live mode's chunks): each MemBlock's last input frame,
// and whether the video's lead-in frames were dropped yet.
struct DecodeStream {
  std::vector<at::Tensor> memory;
  bool started = false;
};

struct DecoderOptions {
  // false: one frame per latent frame instead of four (each TGrow keeps the rows of its
  // last output frame): the cheaper preview the reference offers.
  bool temporal_upscale = true;
};

class TaehvDecoderImpl : public torch::nn::Module {
 public:
  explicit TaehvDecoderImpl(DecoderOptions options = {});

  // latents [F, 16, h, w] (frames first) -> RGB in [0, 1]: [1 + 4 (F - 1), 3, 8h, 8w], or
  // [F, 3, 8h, 8w] without temporal upscaling. Decoded `chunk` latent frames at a time
  // (every MemBlock carries the last frame it saw into the next chunk): memory stays
  // bounded and the result is that of decoding all frames at once.
  at::Tensor decode(const at::Tensor& latents, int64_t chunk = 4) const;

  // The next latent frames of a video decoded on from `stream` (a fresh one at the video's
  // start): the video's first call gives 1 + 4 (F - 1) frames, every later one 4 F, and
  // all calls together give what decode() gives for all frames at once.
  at::Tensor decode_continuing(const at::Tensor& latents, DecodeStream& stream) const;

  // Output frames per latent frame (4 with temporal upscaling) and pixels per latent pixel.
  int64_t temporal_scale() const { return options_.temporal_upscale ? 4 : 1; }
  static constexpr int64_t kSpatialScale = 8;

  // The checkpoint's decoder tensors under this module's names, TGrow weights cut to the
  // rows this decoder uses; encoder.* and other names are left out.
  TensorMap decoder_weights(const TensorMap& checkpoint) const;

 private:
  struct Conv {
    at::Tensor weight, bias;  // bias undefined where the layer has none
    int64_t padding = 1;
    at::Tensor operator()(const at::Tensor& x) const;
  };
  struct MemBlock {
    Conv conv[3];
    at::Tensor operator()(const at::Tensor& x, const at::Tensor& past) const;
  };
  struct Stage {  // three MemBlocks, x2 in space, a TGrow, a conv
    MemBlock blocks[3];
    Conv grow, narrow;
    int64_t grow_stride = 1;
  };
  Conv conv(const std::string& name, int64_t in, int64_t out, int64_t kernel, bool bias);
  at::Tensor decode_chunk(const at::Tensor& x, std::vector<at::Tensor>& memory) const;

  DecoderOptions options_;
  Conv input_, output_;
  Stage stages_[3];
};
TORCH_MODULE(TaehvDecoder);

// Loads taew2_1.pth / taew2_1.safetensors (or any checkpoint file holding its decoder.*
// tensors) onto `device` in `dtype`. Throws wan::Error naming missing or mis-shaped tensors.
TaehvDecoder load_taehv_decoder(const std::string& path, const at::Device& device, at::ScalarType dtype,
                                DecoderOptions options = {});
// The same from tensors in memory; `what` names them in errors.
TaehvDecoder load_taehv_decoder(const TensorMap& checkpoint, const std::string& what, const at::Device& device,
                                at::ScalarType dtype, DecoderOptions options = {});

}  // namespace wan::taehv
