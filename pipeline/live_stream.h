// Live mode's stream (issue #22): endless text-to-video from a causal (Self-Forcing)
// checkpoint, made and shown a chunk at a time. Each chunk: the prompt's umT5 embedding
// (through the shared encoder and its prompt cache; a changed prompt acts from the next
// chunk), CausalGenerator's few steps on the chunk's latent frames with the KV cache of
// the frames before, then the VAE's causal decoder going on from the chunk before, so the
// frames leave chunk by chunk: the video's first latent frame gives 1 frame, every later
// one 4 (a 3-frame chunk: 9 frames first, then 12). With LiveDecoder::Taew2_1 the tiny
// TAEW2.1 decoder takes the VAE's place, its MemBlocks going on from the chunk before: the
// same frame counts, pictures a little softer, at a fraction of the VAE's time.
//
// Endless streams attend to a rolling window (CausalSettings local_attn_size / sink_size):
// live_causal_settings() keeps 21 latent frames, the first chunk (3 frames) of them as an
// attention sink that never leaves (LongLive's and Rolling Forcing's frame sink). 21 is
// the context Self-Forcing is trained on and its own KV cache size at 480p (32,760
// tokens): the first 21 frames are exactly its global-attention video, and from then on
// every chunk attends to at most 21 frames, so its time and the cache's memory stay flat.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "models/dit/wan_model.h"
#include "models/t5/text_encoder.h"
#include "models/taehv/taehv_decoder.h"
#include "models/vae/wan_vae.h"
#include "pipeline/causal_generator.h"
#include "pipeline/causal_noise.h"
#include "pipeline/model_registry.h"
#include "pipeline/pipeline.h"

namespace wan {

// Self-Forcing's inference settings with the rolling window of an endless stream.
CausalSettings live_causal_settings();

// What turns a chunk's latents into frames.
enum class LiveDecoder {
  Vae,      // the official Wan VAE (Wan2.1_VAE.pth beside the checkpoint)
  Taew2_1,  // TAEW2.1 (LiveOptions::taehv_path); the VAE is not loaded
};

struct LiveOptions {
  // Where the models come from and run, as for clips: model_path a causal checkpoint
  // (Self-Forcing's self_forcing_dmd.pt, or a folder holding it) with the official
  // Wan2.1_VAE.pth, umT5 and tokenizer beside it; memory_mode Resident or TextEncoderCpu;
  // no LoRAs.
  PipelineOptions models;
  CausalSettings causal = live_causal_settings();
  int64_t seed = -1;  // -1: a random one
  LiveDecoder decoder = LiveDecoder::Vae;
  std::string taehv_path;  // taew2_1.pth / .safetensors, for LiveDecoder::Taew2_1
};

// What a chunk gave.
struct LiveChunkInfo {
  int64_t index = 0;             // chunk of the video, from 0
  int64_t first_frame = 0;       // its first output frame in the video
  int64_t frames = 0;            // output frames
  std::string prompt;            // the prompt it was generated with
  double encode_s = 0;           // umT5 on a new prompt (0 when the prompt did not change)
  double generate_s = 0;         // the DiT's part
  double decode_s = 0;           // the decoder's part, frames handed out included
  bool generated_ahead = false;  // made by prepare_first_chunk(), before it was asked for
};

class LiveStream {
 public:
  // Loads (or shares, through the model registry) the DiT, the decoder and umT5. Throws
  // wan::Error: a bidirectional checkpoint, a memory mode or setting live mode cannot run,
  // missing files.
  LiveStream(const LiveOptions& options, const std::function<void(const Progress&)>& on_progress = {});

  // The output size (multiples of 16; default 832x480). A new size starts a new video.
  void set_size(int width, int height);
  int width() const { return width_; }
  int height() const { return height_; }

  // The prompt of the chunks from the next one on.
  void set_prompt(const std::string& prompt);

  // Generates and decodes the next chunk; on_frames gets its frames as the VAE decodes
  // them (uint8 RGB [n, H, W, 3] on the CPU, first = the index of frames[0] in the video).
  // A cancelled generation throws Cancelled and leaves the chunk to be generated again;
  // an exception from on_frames makes the next chunk start a new video.
  LiveChunkInfo next_chunk(const std::function<void(const at::Tensor& frames, int64_t first)>& on_frames,
                           const CancelToken& cancel);

  // A new video from the next chunk on (the prompt stays; the same seed gives the same video).
  void reset();

  // Generates and decodes the video's first chunk now and holds its frames: the next
  // next_chunk() hands them out at once instead of generating, so a source that calls this
  // before it plays has its first frames ready when it starts. Held only while the video,
  // its size and the prompt stay those it was made with (a new prompt, size or reset()
  // drops it; next_chunk() then generates chunk 0 as usual). Cancelled: throws Cancelled
  // and holds nothing.
  void prepare_first_chunk(const CancelToken& cancel);
  bool first_chunk_prepared() const { return prepared_.has_value(); }

  // The one-off costs of the first chunks paid now, at the current size and prompt: the
  // prompt's encoding, and `chunks` throwaway chunks generated and decoded (the device's
  // kernel choices and memory pools), then reset() so the stream's frames are those it would
  // have made without. Cancelled: throws Cancelled (the stream stays usable).
  void warm_up(const CancelToken& cancel, int chunks = 2);

  int64_t seed() const { return seed_; }
  // Chunks of the current video handed out so far (the next chunk's index; a prepared
  // chunk 0 counts once handed out).
  int64_t chunks_done() const { return generator_ && !restart_ ? generator_->chunks_done() - (prepared_ ? 1 : 0) : 0; }
  const CausalSettings& settings() const { return settings_; }
  // Output frames of chunk `index`: 1 + 4 (F - 1) for the video's first, 4 F after.
  int64_t chunk_output_frames(int64_t index) const;

 private:
  CausalGenerator& generator();
  at::Tensor prompt_context(const std::string& prompt, const CancelToken& cancel);
  // Decodes a chunk's latents [C, F, h, w] on from the chunk before, pieces to on_piece.
  void decode(const at::Tensor& latents, const std::function<void(const at::Tensor& frames)>& on_piece);
  LiveChunkInfo hand_out_prepared(const std::function<void(const at::Tensor& frames, int64_t first)>& on_frames);
  int64_t spatial_scale() const;
  int64_t temporal_scale() const;

  CausalSettings settings_;
  at::Device device_ = at::kCPU;
  int64_t seed_ = 0;
  int width_ = 832, height_ = 480;
  std::string prompt_;
  std::string context_prompt_;  // what the generator's context encodes
  bool context_set_ = false;
  bool restart_ = false;  // a chunk broke mid-decode: the next one starts a new video
  int64_t frames_out_ = 0;
  std::shared_ptr<SharedModel<WanModel>> dit_;
  std::shared_ptr<SharedModel<std::shared_ptr<WanVAE>>> vae_;  // null with TAEW2.1
  taehv::TaehvDecoder taehv_{nullptr};                         // null with the VAE
  std::shared_ptr<SharedModel<std::shared_ptr<TextEncoder>>> text_;
  // prepare_first_chunk()'s chunk 0, until next_chunk() hands it out.
  struct PreparedChunk {
    LiveChunkInfo info;
    std::vector<at::Tensor> frames;  // the decoder's pieces, in order
  };
  std::optional<PreparedChunk> prepared_;
  std::optional<CausalGenerator> generator_;
  std::unique_ptr<SeededCausalNoise> noise_;
  VAEDecodeStream decode_;
  taehv::DecodeStream taehv_stream_;
};

}  // namespace wan
