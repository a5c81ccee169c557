// CausalGenerator (pipeline/causal_generator.h) as live mode uses it, on the causal-tiny
// case: chunk by chunk equals the reference, reset starts the same video again, a prompt
// change acts from the next chunk on, a cancelled chunk can be generated again, seeded
// noise is reproducible, independent_first_frame and the rolling window run, and bad
// settings and inputs are refused with errors that say why.
//   test-causal-generator FIXTURES_DIR
#include <ATen/ATen.h>

#include <filesystem>

#include "models/dit/dit_config.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "pipeline/causal_generator.h"
#include "tests/unit/check.h"

namespace fs = std::filesystem;

namespace {

fs::path fixtures;

wan::WanModel load_model(const std::string& name = "dit-t2v-tiny", bool weights = true) {
  wan::WanModel model(wan::DiTConfig::from_json_file((fixtures / name / "config.json").string()));
  if (weights)
    wan::load_state_dict(*model, wan::load_safetensors((fixtures / name / "weights.safetensors").string()), name);
  model->eval();
  return model;
}

double rel_l2(const at::Tensor& got, const at::Tensor& expected) {
  return (got.to(at::kDouble) - expected.to(at::kDouble)).norm().item<double>() /
         expected.to(at::kDouble).norm().item<double>();
}

struct Case {
  wan::TensorMap io = wan::load_safetensors((fixtures / "causal-tiny" / "io.safetensors").string());
  at::Tensor noise = io.at("in.noise")[0].permute({1, 0, 2, 3}).contiguous();       // [C, F, H, W]
  at::Tensor renoise = io.at("in.renoise").permute({0, 2, 1, 3, 4}).contiguous();   // [S-1, C, F, H, W]
  at::Tensor latents = io.at("out.latents")[0].permute({1, 0, 2, 3}).contiguous();  // [C, F, H, W]
  at::Tensor context = io.at("in.context")[0];
  at::Tensor chunk(int64_t c) const { return latents.slice(1, 3 * c, 3 * c + 3); }
};

void expect_close(const at::Tensor& got, const at::Tensor& expected, const std::string& what, int line) {
  const double e = rel_l2(got, expected);
  wan::test::report(e < 1e-5, "rel L2 < 1e-5", __FILE__, line, what + ": " + std::to_string(e));
}
#define EXPECT_CLOSE(got, expected, what) expect_close((got), (expected), (what), __LINE__)

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: test-causal-generator FIXTURES_DIR\n");
    return 2;
  }
  fixtures = argv[1];
  c10::InferenceMode inference;
  const Case c;
  wan::CausalGenerator gen(load_model(), wan::CausalSettings(), 6, 10);

  // The defaults are Self-Forcing's released settings, those of the case.
  EXPECT_ERROR(wan::ReplayedCausalNoise r(c.noise, c.renoise); gen.next_chunk(r), "no prompt embedding");
  gen.set_context(c.context);
  {
    wan::ReplayedCausalNoise draws(c.noise, c.renoise);
    std::vector<int64_t> firsts;
    const at::Tensor all = gen.generate(9, draws, [&](const wan::CausalChunk& chunk) {
      firsts.push_back(chunk.first_frame);
      EXPECT_MSG(chunk.latents.sizes() == at::IntArrayRef({16, 3, 6, 10}), "chunk latents [C, n, H, W]");
    });
    EXPECT_CLOSE(all, c.latents, "generate");
    EXPECT_MSG((firsts == std::vector<int64_t>{0, 3, 6}), "one callback per chunk, in order");
    EXPECT_MSG(gen.next_frame() == 9 && gen.chunks_done() == 3, "position after the video");
  }

  // reset: the same video again, chunk by chunk.
  gen.reset();
  wan::ReplayedCausalNoise draws(c.noise, c.renoise);
  EXPECT_CLOSE(gen.next_chunk(draws).latents, c.chunk(0), "chunk 0 after reset");

  // Cancelled in the middle of chunk 1: it throws, and chunk 1 can then be generated again.
  wan::CancelToken cancel;
  gen.on_step = [&](const wan::CausalChunk&, int step, const at::Tensor&) {
    if (step == 1) cancel.cancel();
  };
  bool cancelled = false;
  try {
    gen.next_chunk(draws, &cancel);
  } catch (const wan::Cancelled&) {
    cancelled = true;
  }
  EXPECT_MSG(cancelled && gen.next_frame() == 3, "cancelled chunk 1 leaves the position at frame 3");
  gen.on_step = nullptr;
  cancel.reset();
  EXPECT_CLOSE(gen.next_chunk(draws, &cancel).latents, c.chunk(1), "chunk 1 generated again after the cancel");

  // A new prompt from chunk 2 on (not a permutation of the rows: the cross-attention has no
  // positions, it would not tell): chunk 2 changes; with the old prompt back and a reset the
  // reference comes back (the cross-attention projections are recomputed).
  gen.set_context(c.context * 0.5);
  const at::Tensor changed = gen.next_chunk(draws).latents;
  EXPECT_MSG(rel_l2(changed, c.chunk(2)) > 1e-3, "a new prompt changes the next chunk");
  gen.set_context(c.context);
  gen.reset();
  EXPECT_CLOSE(gen.generate(9, draws), c.latents, "old prompt, reset");

  // Seeded noise: the same seed, the same video; another seed, another.
  wan::SeededCausalNoise seed1(7), seed1_again(7), seed2(8);
  const at::Tensor a = gen.generate(6, seed1), b = gen.generate(6, seed1_again), d = gen.generate(6, seed2);
  EXPECT_MSG(at::equal(a, b), "seeded noise is reproducible");
  EXPECT_MSG(!at::equal(a, d), "another seed, another video");
  EXPECT_MSG(at::equal(gen.generate(6, seed1), a), "generate() restarts the seeded draws");

  // independent_first_frame: chunks of 1, 3, 3.
  wan::CausalSettings first;
  first.independent_first_frame = true;
  wan::CausalGenerator gen1(load_model(), first, 6, 10);
  gen1.set_context(c.context);
  EXPECT_MSG(gen1.chunk_frames(0) == 1 && gen1.chunk_frames(1) == 3, "chunk sizes 1, 3, ...");
  EXPECT_MSG(gen1.generate(7, seed1).size(1) == 7, "7 frames as 1 + 3 + 3");
  EXPECT_ERROR(gen1.generate(9, seed1), "1 + a multiple of 3");
  EXPECT_ERROR(gen.generate(8, seed1), "not a whole number of chunks");

  // Rolling window of 4 frames with 1 sink: chunk 0 as with global attention, then the
  // cache holds 4 frames.
  wan::CausalSettings window;
  window.local_attn_size = 4;
  window.sink_size = 1;
  wan::CausalGenerator genw(load_model(), window, 6, 10);
  genw.set_context(c.context);
  wan::ReplayedCausalNoise draws_w(c.noise, c.renoise);
  EXPECT_CLOSE(genw.next_chunk(draws_w).latents, c.chunk(0), "windowed chunk 0");
  genw.next_chunk(draws_w);
  genw.next_chunk(draws_w);
  EXPECT_MSG(genw.cache().blocks[0].self_kv.local_end() == 4 * 15, "the window holds 4 frames");

  // Bad settings and inputs.
  wan::CausalSettings bad = window;
  bad.local_attn_size = 3;
  EXPECT_ERROR(wan::CausalGenerator(load_model(), bad, 6, 10), "at least frames per chunk 3 + sink_size 1");
  bad = wan::CausalSettings();
  bad.denoising_steps = {1000, 1000};
  EXPECT_ERROR(wan::CausalGenerator(load_model(), bad, 6, 10), "decrease strictly");
  EXPECT_ERROR(wan::CausalGenerator(load_model(), wan::CausalSettings(), 5, 10), "multiple of the patch size");
  EXPECT_ERROR(wan::CausalGenerator(load_model("dit-i2v-tiny", false), wan::CausalSettings(), 6, 10), "from text only");
  EXPECT_ERROR(gen.set_context(at::zeros({40, 32})), "prompt embedding must be [L <= 32, 32]");
  return wan::test::check_exit("test-causal-generator");
}
