// LiveStream (pipeline/live_stream.h) on a tiny causal checkpoint made from the e2e-i2v-tiny
// fixture: frames leave chunk by chunk (9, then 12 per 3-frame chunk) numbered without gaps,
// the VAE's continuing decode equals the whole-video decode, a seed gives the same video again
// after reset, a prompt change acts from the next chunk on, the rolling window runs past its
// size, cancellation leaves the chunk to be generated again, and the wrong kind of checkpoint
// in either mode is refused naming the kind. The TAEW2.1 decoder gives the VAE's frame counts
// and its whole-video decode chunk by chunk, and a warm-up leaves the frames unchanged.
//   test-live-stream FIXTURES_DIR [DEVICE]   (DEVICE: where the stream runs, default cpu)
#include <unistd.h>

#include <filesystem>
#include <vector>

#include <ATen/ATen.h>

#include "models/taehv/taehv_decoder.h"
#include "models/vae/vae_loader.h"
#include "models/weights/pth_writer.h"
#include "pipeline/live_stream.h"
#include "pipeline/pipeline.h"
#include "tests/common/random_taehv.h"
#include "tests/common/tiny_causal_checkpoint.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

struct Chunk {
  wan::LiveChunkInfo info;
  at::Tensor frames;  // uint8 [n, H, W, 3]
};

Chunk next(wan::LiveStream& stream, const wan::CancelToken& cancel = {}) {
  Chunk c;
  std::vector<at::Tensor> pieces;
  int64_t expected_first = -1;
  bool contiguous = true;
  c.info = stream.next_chunk(
      [&](const at::Tensor& frames, int64_t first) {
        if (expected_first >= 0 && first != expected_first) contiguous = false;
        expected_first = first + frames.size(0);
        pieces.push_back(frames.clone());
      },
      cancel);
  EXPECT_MSG(contiguous, "frame indices run on without gaps within a chunk");
  c.frames = at::cat(pieces, 0);
  return c;
}

std::string device = "cpu";

// The test's size (80x48) and a prompt.
void set_up(wan::LiveStream& stream, const std::string& prompt) {
  stream.set_size(80, 48);
  stream.set_prompt(prompt);
}

// A stream's first three chunks: 9 frames of 80x48 (1 + 4 + 4), then 12 each, numbered on in
// the video's frames.
std::vector<Chunk> first_three_chunks(wan::LiveStream& stream) {
  std::vector<Chunk> chunks;
  for (int i = 0; i < 3; ++i) chunks.push_back(next(stream));
  EXPECT_MSG(chunks[0].frames.sizes() == at::IntArrayRef({9, 48, 80, 3}), "chunk 0: 1 + 4 + 4 frames of 80x48");
  EXPECT_MSG(chunks[1].frames.size(0) == 12 && chunks[2].frames.size(0) == 12, "later chunks: 12 frames");
  EXPECT(stream.chunk_output_frames(0) == 9 && stream.chunk_output_frames(1) == 12);
  EXPECT_MSG(chunks[1].info.first_frame == 9 && chunks[2].info.first_frame == 21 && chunks[2].info.index == 2,
             "chunks numbered in the video's frames");
  return chunks;
}

template <class F>
bool cancelled(F&& f) {
  try {
    f();
  } catch (const wan::Cancelled&) {
    return true;
  }
  return false;
}

wan::LiveOptions options_for(const std::string& model) {
  wan::LiveOptions o;
  o.models.model_path = model;
  o.models.device = device;
  o.seed = 7;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: test-live-stream FIXTURES_DIR [DEVICE]\n");
    return 2;
  }
  if (argc == 3) device = argv[2];
  const fs::path fixtures = argv[1];
  const fs::path ckpt = fixtures / "e2e-i2v-tiny" / "ckpt";
  const fs::path dir = fs::temp_directory_path() / ("wan-test-live-stream-" + std::to_string(::getpid()));
  const std::string model = wan::test::make_tiny_causal_checkpoint(ckpt, dir);

  // The VAE's decode going on across calls equals the whole latent's streaming decode.
  {
    const wan::WanVAE vae = wan::load_vae((ckpt / "Wan2.1_VAE.pth").string());
    const at::Tensor latent = at::randn({vae.config().z_dim, 7, 6, 10}, at::TensorOptions().dtype(at::kFloat));
    std::vector<at::Tensor> whole, parts;
    vae.decode_streaming(latent, [&](const at::Tensor& f) { whole.push_back(f); });
    wan::VAEDecodeStream stream;
    for (const auto& [first, n] : std::vector<std::pair<int, int>>{{0, 3}, {3, 1}, {4, 3}})
      vae.decode_continuing(latent.narrow(1, first, n), stream, [&](const at::Tensor& f) { parts.push_back(f); });
    EXPECT_MSG(whole.size() == parts.size() && stream.latent_frames == 7, std::to_string(parts.size()) + " pieces");
    EXPECT_MSG(parts.front().size(1) == 1 && parts.back().size(1) == 4, "1 frame, then 4 per latent frame");
    EXPECT_MSG(at::equal(at::cat(whole, 1), at::cat(parts, 1)), "continuing decode = whole decode");
  }

  wan::LiveStream stream(options_for(model));
  set_up(stream, "a red house on a green hill");
  const std::vector<Chunk> reference = first_three_chunks(stream);
  EXPECT_MSG(!at::equal(reference[1].frames, reference[2].frames), "chunks differ");

  // reset: the same seed gives the same video again.
  stream.reset();
  const Chunk again = next(stream);
  EXPECT_MSG(again.info.index == 0 && again.info.first_frame == 0, "reset starts at chunk 0");
  EXPECT_MSG(at::equal(again.frames, reference[0].frames), "seeded video repeats after reset");

  // A prompt change acts from the next chunk on.
  {
    wan::LiveStream changed(options_for(model));
    set_up(changed, "a red house on a green hill");
    const Chunk c0 = next(changed);
    changed.set_prompt("a blue boat on a grey sea");
    const Chunk c1 = next(changed);
    EXPECT_MSG(at::equal(c0.frames, reference[0].frames), "the chunk before the change is the reference's");
    EXPECT_MSG(!at::equal(c1.frames, reference[1].frames), "the chunk after the change differs");
    EXPECT(c1.info.prompt == "a blue boat on a grey sea" && c0.info.prompt == "a red house on a green hill");
  }

  // Cancelled before its first block: the chunk comes again, the same.
  {
    wan::LiveStream cancelled(options_for(model));
    set_up(cancelled, "a red house on a green hill");
    wan::CancelToken cancel;
    cancel.cancel();
    bool threw = false;
    try {
      next(cancelled, cancel);
    } catch (const wan::Cancelled&) {
      threw = true;
    }
    EXPECT_MSG(threw, "a cancelled chunk throws Cancelled");
    EXPECT_MSG(at::equal(next(cancelled).frames, reference[0].frames), "the cancelled chunk is generated again");
  }

  // An endless stream past a small window (6 frames, the first chunk as sink): every chunk
  // still comes, 12 frames each.
  {
    wan::LiveOptions o = options_for(model);
    o.causal.local_attn_size = 6;
    o.causal.sink_size = 3;
    wan::LiveStream rolling(o);
    set_up(rolling, "waves");
    int64_t frames = 0;
    for (int i = 0; i < 5; ++i) {
      const Chunk c = next(rolling);
      EXPECT_MSG(c.info.first_frame == frames, "chunk " + std::to_string(i) + " follows the one before");
      frames += c.frames.size(0);
    }
    EXPECT_MSG(frames == 9 + 4 * 12, std::to_string(frames) + " frames");
  }

  // A warm-up (prompt encoded, throwaway chunks) leaves the stream's frames as they were.
  {
    wan::LiveStream warmed(options_for(model));
    set_up(warmed, "a red house on a green hill");
    warmed.warm_up({});
    EXPECT_MSG(warmed.chunks_done() == 0, "the warm-up's chunks are not the video's");
    const Chunk c0 = next(warmed), c1 = next(warmed);
    EXPECT_MSG(c0.info.encode_s == 0, "the prompt was encoded in the warm-up");
    EXPECT_MSG(c0.info.first_frame == 0 && c1.info.first_frame == 9, "frames count from 0 after the warm-up");
    EXPECT_MSG(at::equal(c0.frames, reference[0].frames) && at::equal(c1.frames, reference[1].frames),
               "warmed-up frames = cold frames");
    wan::CancelToken cancel;
    cancel.cancel();
    EXPECT_MSG(cancelled([&] { warmed.warm_up(cancel); }), "a cancelled warm-up throws Cancelled");
    EXPECT_MSG(at::equal(next(warmed).frames, reference[0].frames), "a cancelled warm-up leaves a new video");
  }

  // A first chunk prepared ahead is handed out as chunk 0, and the video goes on from it.
  {
    wan::LiveStream ahead(options_for(model));
    set_up(ahead, "a red house on a green hill");
    ahead.warm_up({});
    ahead.prepare_first_chunk({});
    EXPECT_MSG(ahead.first_chunk_prepared() && ahead.chunks_done() == 0, "the prepared chunk is still to come");
    const Chunk c0 = next(ahead), c1 = next(ahead);
    EXPECT_MSG(!ahead.first_chunk_prepared(), "handed out once");
    EXPECT_MSG(c0.info.index == 0 && c0.info.first_frame == 0 && c1.info.index == 1 && c1.info.first_frame == 9,
               "numbered as a video's first chunks");
    EXPECT_MSG(c0.info.generated_ahead && !c1.info.generated_ahead, "chunk 0 is the one made ahead");
    EXPECT_MSG(at::equal(c0.frames, reference[0].frames) && at::equal(c1.frames, reference[1].frames),
               "prepared frames = frames generated on demand");

    // A prompt changed before it is handed out: chunk 0 is made again with the new one.
    ahead.reset();
    ahead.prepare_first_chunk({});
    ahead.set_prompt("waves");
    const Chunk other = next(ahead);
    wan::LiveStream cold(options_for(model));
    set_up(cold, "waves");
    EXPECT_MSG(
        other.info.prompt == "waves" && !other.info.generated_ahead && at::equal(other.frames, next(cold).frames),
        "a stale prepared chunk is dropped");

    wan::CancelToken cancel;
    cancel.cancel();
    ahead.reset();
    EXPECT_MSG(cancelled([&] { ahead.prepare_first_chunk(cancel); }), "a cancelled preparation throws Cancelled");
    EXPECT_MSG(!ahead.first_chunk_prepared(), "and holds nothing");
  }

  // TAEW2.1 in the VAE's place: the same frame counts and numbering, and chunk by chunk the
  // decoder's whole-video decode of the same latents.
  {
    const std::string taew = (dir / "taew2_1.pth").string();
    wan::save_pth(taew, wan::test::random_taehv_weights(5));
    wan::LiveOptions o = options_for(model);
    o.decoder = wan::LiveDecoder::Taew2_1;
    o.taehv_path = taew;
    wan::LiveStream tiny(o);
    set_up(tiny, "a red house on a green hill");
    const std::vector<Chunk> chunks = first_three_chunks(tiny);  // the VAE's counts and numbering
    EXPECT_MSG(!at::equal(chunks[0].frames, reference[0].frames), "not the VAE's pictures");
    // The seed's video again after reset (the decoder's memory starts over too).
    tiny.reset();
    EXPECT_MSG(at::equal(next(tiny).frames, chunks[0].frames) && at::equal(next(tiny).frames, chunks[1].frames),
               "TAEW2.1 video repeats after reset");
    // Cancelled: the chunk comes again, the same.
    tiny.reset();
    wan::CancelToken cancel;
    cancel.cancel();
    EXPECT_MSG(cancelled([&] { next(tiny, cancel); }), "a cancelled chunk throws Cancelled");
    EXPECT_MSG(at::equal(next(tiny).frames, chunks[0].frames), "the cancelled chunk is generated again");

    o.taehv_path.clear();
    EXPECT_ERROR(wan::LiveStream{o}, "taew2_1.pth");
    o.taehv_path = (dir / "missing.pth").string();
    EXPECT_ERROR(wan::LiveStream{o}, "missing.pth");
  }

  // The default window: a sink chunk and 21 frames in all.
  const wan::CausalSettings live = wan::live_causal_settings();
  EXPECT(live.local_attn_size == 21 && live.sink_size == 3 && live.frames_per_chunk == 3);

  // Wrong kinds and settings, each named.
  EXPECT_ERROR(wan::LiveStream{options_for(ckpt.string())}, "holds a bidirectional");
  {
    wan::PipelineOptions clip;
    clip.model_path = model;
    EXPECT_ERROR(wan::Pipeline::load(clip), "holds a causal");
    clip.model_path = dir.string();
    EXPECT_ERROR(wan::Pipeline::load(clip), "live mode only");
  }
  {
    wan::LiveOptions o = options_for(model);
    o.models.memory_mode = wan::MemoryMode::BlockSwap;
    EXPECT_ERROR(wan::LiveStream{o}, "memory mode");
    o = options_for(model);
    o.causal.local_attn_size = 4;
    EXPECT_ERROR(wan::LiveStream{o}, "local_attn_size");
  }
  EXPECT_ERROR(stream.set_size(81, 48), "multiples of 16");

  std::error_code ec;
  fs::remove_all(dir, ec);
  return wan::test::check_exit("test-live-stream");
}
